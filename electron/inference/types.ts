/** Types of the inference engine's public API (re-exported by index.ts). */
import type { ProviderName, RunRequest } from '../../common/contract/run-request';
import type { ModelManifest } from '../../common/models/manifest';
import type { RunPlan } from '../../common/models/run-plan';
import type { QualityMetrics } from '../metrics/quality-metrics';
import type { EvaluatorNetwork } from './evaluator-network';
import type { RuntimeTimings } from './networks';
import type { ConcreteProvider, ProviderAttempt, UnetGraphPrecision, UnetPrecision } from './provider-order';
import type { SessionCensus } from './sessions';
import type { QualityMetricFiles } from './worker-protocol';

export type { ConcreteProvider, ProviderAttempt, RuntimeTimings };

export interface EngineOptions {
  /** The model folders, in order (`findModelFolders` expands folders of model folders); an id seen twice keeps the first. */
  modelFolders?: string[];
  /** onnxruntime intra-op CPU threads; 0 (default) lets onnxruntime choose. */
  threads?: number;
  /** Which UNet graph runs (default "auto": float16 on GPU providers when the model has it). */
  unetPrecision?: UnetPrecision;
  /**
   * The worker's entry module. Defaults to ./inference-worker.ts beside this file (run through tsx);
   * a bundled app passes the URL of its built worker .js.
   */
  workerEntry?: URL;
  /** Folder of the metrics' linear-algebra graphs; the source folder by default, a packaged app passes its resources copy. */
  linalgGraphsDir?: string;
}

export interface ModelSummary {
  id: string;
  name: string;
  dir: string;
  manifest: ModelManifest;
}

export interface LoadedModelInfo extends ModelSummary {
  /** The provider the UNet really runs on. */
  provider: ConcreteProvider;
  /** Providers tried first that failed, with the reason. */
  fallbacks: ProviderAttempt[];
  /** The UNet graph that runs: float32, or the model's float16 graph. */
  unetPrecision: UnetGraphPrecision;
}

/** Noise to replay instead of the seeded generator (all samples of the request, in order). */
export interface ReplayNoise {
  /** x_T, [N, C, H, W]. */
  initial: Float32Array;
  /** z of every sampling step, [S, N, C, H, W]; null when the sampler draws none (DDIM, η = 0). */
  steps: Float32Array | null;
}

export interface SampleOptions {
  signal?: AbortSignal;
  onProgress?: (event: ProgressEvent) => void;
  onSample?: (sample: SampleResult) => void;
  /**
   * Where the job is drawn and the providers that failed before, once the model is open and again
   * when a provider that fails part way hands the rest to the CPU.
   */
  onProvider?: (provider: ConcreteProvider, fallbacks: ProviderAttempt[]) => void;
  /** Keep xₜ and x̂₀ of every step of every sample. */
  trajectory?: boolean;
  /** Send x̂₀ previews every this many steps (0: none; default 1). The last step always has them. */
  previewEvery?: number;
  /**
   * Least milliseconds between two previews of a batch (default 0: every scheduled step). The
   * batch's first and last steps always have them; steps in between go without.
   */
  previewIntervalMs?: number;
  noise?: ReplayNoise;
  /**
   * The request's plan, made by the caller against the same model when the request arrived;
   * the engine and the worker then plan nothing again.
   */
  plan?: RunPlan;
}

export interface PreviewImage {
  /** Index of the sample in the request (its seed is request.seeds[index]). */
  index: number;
  width: number;
  height: number;
  /** x̂₀ as RGBA pixels, row-major, width × height × 4 (ImageData layout). */
  rgba: Uint8ClampedArray;
}

export interface ProgressEvent {
  /** 0-based batch, of `batches`. */
  batch: number;
  batches: number;
  /** 0-based step of this batch, of `steps`. */
  step: number;
  steps: number;
  /** Original timestep index of the step. */
  t: number;
  /** Samples finished before this batch, of `total`. */
  samplesDone: number;
  total: number;
  previews: PreviewImage[];
  /** p(y|xₜ) and ‖∇ₓ log p(y|xₜ)‖ of the batch's samples, for guided runs. */
  classProbability?: number[];
  gradNorm?: number[];
}

export interface SampleTrajectory {
  /** Original timestep index of each step [S]. */
  t: Int32Array;
  /** x_T [C, H, W]. */
  initial: Float32Array;
  /** x after each step [S, C, H, W]. */
  xt: Float32Array;
  /** x̂₀ of each step [S, C, H, W]. */
  predX0: Float32Array;
  /** p(y|xₜ) and gradient norm per step [S], for guided runs. */
  classProbability: Float32Array | null;
  gradNorm: Float32Array | null;
  /** What the classifier saw in each step's xₜ, for guided runs. */
  classifier: RecordedClassifierViews | null;
}

/**
 * The classifier's pass on each recorded step's xₜ: the one the next step's guidance made, at the
 * next step's t. Steps it did not reach (the last, or those a schedule left unguided) have t = −1.
 */
export interface RecordedClassifierViews {
  /** Timestep the classifier was told each step's xₜ is at, −1 where no pass ran [S]. */
  t: Int32Array;
  /** p(y|xₜ) [S]. */
  probability: Float32Array;
  /** The most probable classes and their probabilities [S, CLASSIFIER_TOP_CLASSES]; class −1 pads models with fewer classes. */
  topClasses: Int32Array;
  topProbabilities: Float32Array;
  /** |∇ₓ log p(y|xₜ)| per pixel as bytes [S, H, W] (255 = that step's gradientMax), see gradientHeat. */
  heat: Uint8Array;
  gradientMax: Float32Array;
}

export interface SampleResult {
  index: number;
  seed: number;
  classIndex: number;
  channels: number;
  height: number;
  width: number;
  /** The sample in model space: [C, H, W], values in [-1, 1]. */
  image: Float32Array;
  /** 8-bit pixels, row-major and interleaved: height × width × channels. */
  pixels: Uint8Array;
  /** p(y|xₜ) at the last step, for guided runs. */
  classProbability: number | null;
  trajectory?: SampleTrajectory;
}

export interface RunTimings extends RuntimeTimings {
  /** Wall time of the whole job inside the worker. */
  totalMs: number;
}

export interface RunResult {
  samples: SampleResult[];
  provider: ConcreteProvider;
  fallbacks: ProviderAttempt[];
  timings: RunTimings;
}

/** A model folder that is not offered, and why, in a sentence that says what to do. */
export interface ModelFolderProblem {
  folder: string;
  message: string;
}

export interface ModelScan {
  models: ModelSummary[];
  problems: ModelFolderProblem[];
}

export interface Engine {
  /** The `modelFolders` whose manifests are valid (files not hashed yet), and the others with why. */
  listModels(): Promise<ModelSummary[]>;
  /** The same models, and the folders left out: an unreadable manifest, or an id another folder already has. */
  scanModels(): Promise<ModelScan>;
  /** Verifies a model's files and opens its sessions on `provider` (default "auto"). */
  loadModel(id: string, provider?: ProviderName): Promise<LoadedModelInfo>;
  /** Samples every seed of the request; rejects with a sentence on bad input, NaN, or cancellation. */
  sample(request: RunRequest, options?: SampleOptions): Promise<RunResult>;
  /** Opens a model folder's evaluator in the inference worker (folder verified, graph inputs checked). */
  openEvaluator(modelDir: string, options?: { provider?: ProviderName }): Promise<EvaluatorNetwork>;
  /** FID, precision, recall and (with logits) the Inception Score of .npy feature files, computed in the inference worker. */
  qualityMetrics(files: QualityMetricFiles): Promise<QualityMetrics>;
  /** How many sessions the inference worker has opened, and that it is not the main thread. */
  workerSessionCensus(): Promise<SessionCensus>;
  /** The guiding classifier of model `modelId` on stored states, each at its own timestep, in the inference worker. */
  classifierViews(modelId: string, question: { states: Float32Array; t: Int32Array; label: number; provider?: ProviderName }, signal?: AbortSignal): Promise<RecordedClassifierViews>;
  /** Stops the worker. */
  close(): Promise<void>;
}
