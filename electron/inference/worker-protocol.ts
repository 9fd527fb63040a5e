/**
 * Messages between the engine (main thread) and the inference worker. Every request carries an
 * id that its answers repeat; a request that fails is answered with `failed` and a sentence.
 */
import type { ProviderName, RunRequest } from '../../common/contract/run-request';
import type { RunPlan } from '../../common/models/run-plan';
import type { ModelManifest } from '../../common/models/manifest';
import type { FeatureMatrix } from '../metrics/dense-matrix';
import type { ImageScores, ReferenceFiles } from '../metrics/image-scores';
import type { QualityMetrics } from '../metrics/quality-metrics';
import type { UnetGraphPrecision, UnetPrecision } from './provider-order';
import type { SessionCensus } from './sessions';
import type { StoredPngs } from './stored-pngs';
import type { ConcreteProvider, ProgressEvent, ProviderAttempt, RecordedClassifierViews, ReplayNoise, RunTimings, SampleResult } from './types';

/** Int32Array over a SharedArrayBuffer; the main thread stores 1 to cancel while the worker is busy. */
export type CancelFlag = Int32Array;

/** .npy files of a generated set and its reference, as the `metrics` command names them. */
export interface QualityMetricFiles {
  features: string;
  reference: string;
  logits?: string;
  /** Given together, or neither (the statistics are then estimated from `reference`). */
  referenceMu?: string;
  referenceSigma?: string;
  neighbourhood: number;
  /** Samples per Inception Score split, in the rows' order. */
  splitSize: number;
}

/** What the main thread knows of an evaluator opened in the worker. */
export interface EvaluatorInfo {
  handle: number;
  manifest: ModelManifest;
  provider: ConcreteProvider;
  reference: ReferenceFiles;
}

/** The reference data the worker keeps for an evaluator: its size and neighbourhood. */
export interface ReferenceSummary {
  count: number;
  dimension: number;
  neighbourhood: number;
}

export type ToWorker =
  | { type: 'load'; id: number; dir: string; provider: ProviderName }
  | {
      type: 'sample';
      id: number;
      dir: string;
      request: RunRequest;
      trajectory: boolean;
      previewEvery: number;
      previewIntervalMs: number;
      noise: ReplayNoise | null;
      /** The request's plan, made once on the main thread. */
      plan: RunPlan;
      cancelFlag: CancelFlag;
    }
  | { type: 'openEvaluator'; id: number; dir: string; provider: ProviderName }
  | { type: 'evaluate'; id: number; handle: number; images: Float32Array; count: number; cancelFlag: CancelFlag }
  | { type: 'prepareReference'; id: number; handle: number; cancelFlag: CancelFlag }
  | { type: 'score'; id: number; handle: number; images: Float32Array | StoredPngs; classIndices: Int32Array; cancelFlag: CancelFlag }
  | { type: 'releaseEvaluator'; id: number; handle: number }
  | { type: 'qualityMetrics'; id: number; files: QualityMetricFiles }
  | { type: 'census'; id: number }
  | {
      type: 'classifierViews';
      id: number;
      dir: string;
      provider: ProviderName;
      /** Stored states [N, C, H, W], the timestep each is at [N], and the class asked about. */
      states: Float32Array;
      t: Int32Array;
      label: number;
      cancelFlag: CancelFlag;
    }
  | { type: 'cancel'; id: number };

export interface SerializedError {
  name: string;
  message: string;
}

export type FromWorker =
  | { type: 'loaded'; id: number; provider: ConcreteProvider; fallbacks: ProviderAttempt[]; unetPrecision: UnetGraphPrecision }
  | { type: 'progress'; id: number; event: ProgressEvent }
  | { type: 'sample'; id: number; sample: SampleResult }
  /** Where a sampling job is drawn: once its model is open, and again when a failing provider hands it to the CPU. */
  | { type: 'provider'; id: number; provider: ConcreteProvider; fallbacks: ProviderAttempt[] }
  | { type: 'done'; id: number; timings: RunTimings; provider: ConcreteProvider; fallbacks: ProviderAttempt[] }
  | { type: 'evaluatorOpened'; id: number; evaluator: EvaluatorInfo }
  | { type: 'evaluated'; id: number; features: FeatureMatrix; logits: FeatureMatrix }
  | { type: 'referencePrepared'; id: number; reference: ReferenceSummary }
  | { type: 'scored'; id: number; scores: ImageScores }
  | { type: 'released'; id: number }
  | { type: 'metrics'; id: number; metrics: QualityMetrics }
  | { type: 'census'; id: number; census: SessionCensus }
  | { type: 'classifierViews'; id: number; views: RecordedClassifierViews }
  | { type: 'failed'; id: number; error: SerializedError };

export interface WorkerSettings {
  threads: number;
  unetPrecision: UnetPrecision;
  /** Folder of the metrics' linear-algebra graph files. */
  linalgGraphsDir: string;
}
