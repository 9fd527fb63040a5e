/**
 * Inference engine: the only code that talks to onnxruntime-node (sessions.ts, inside the worker).
 *
 *   const engine = createEngine({ modelFolders: findModelFolders(['models']), threads: 2 });
 *   const models = await engine.listModels();               // ModelSummary[] (manifest included)
 *   const info = await engine.loadModel('fashion-mnist');    // verifies sha256, opens sessions; info.provider, info.fallbacks
 *   const result = await engine.sample(runRequest, {         // RunRequest from common/contract/run-request
 *     signal,                                                // AbortSignal: stops within one step ("AbortError")
 *     onProgress: (event) => {},                             // every step: t, p(y|xₜ), ‖∇‖, x̂₀ previews as RGBA
 *     onSample: (sample) => {},                              // each finished sample: float image + 8-bit pixels
 *     trajectory: true,                                      // keep xₜ and x̂₀ of every step per sample
 *     previewEvery: 1,                                       // steps between previews (0: only the last step)
 *     previewIntervalMs: 100,                                // and at least this long apart (first and last step always)
 *     noise: { initial, steps },                             // replay x_T and per-step z instead of the seeds
 *   });                                                      // RunResult: samples, provider, fallbacks, timings
 *   // request.stepsOn ("auto" | "device" | "host") places the reverse steps; a GPU provider that fails
 *   // part way is replaced by the CPU for the seeds left, and the failure joins result.fallbacks.
 *   const evaluator = await engine.openEvaluator(modelDir);  // the evaluator, opened in the worker
 *   const scores = await evaluator.score(images, classes, signal); // FID, precision, recall, IS, accuracy
 *   await engine.close();
 *
 * Sampling, feature extraction and the metric math run in one worker thread that owns every
 * onnxruntime session; the main event loop only receives messages. Each seed gives the same
 * image alone or in any batch (Philox noise, docs/noise-generator.md).
 * Errors a user can cause (bad class, steps, scale, damaged model folder, graph/manifest
 * mismatch, NaN during sampling) reject with a sentence saying what was wrong and what to do.
 */
export { createEngine } from './engine';
export { autoProviderOrder, fallbackReason } from './provider-order';
export type { UnetPrecision } from './provider-order';
export type { EvaluatorNetwork, EvaluatorOutputs, ReferenceFiles, ReferenceSummary } from './evaluator-network';
export type { QualityMetricFiles } from './worker-protocol';
export { ModelFolderError } from './model-folder';
export { RunRequestError } from '../../common/models/run-plan';
export { SamplingDivergedError } from '../../common/diffusion/sampler';
export type {
  ConcreteProvider,
  Engine,
  EngineOptions,
  LoadedModelInfo,
  ModelFolderProblem,
  ModelScan,
  ModelSummary,
  PreviewImage,
  ProgressEvent,
  ProviderAttempt,
  ReplayNoise,
  RunResult,
  RunTimings,
  RuntimeTimings,
  SampleOptions,
  SampleResult,
  SampleTrajectory,
} from './types';
