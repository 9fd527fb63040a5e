/**
 * StudioApi: every operation the page may ask of the service, with the zod schema of each
 * request, response and event. Main process, preload, `serve` and renderer all import this
 * module, so the types that cross a process boundary have exactly one source.
 */
import { z } from 'zod';
import { boundedList, formatCount, MAX_SWEEP_SCALES, MAX_ZIP_EXPORT_SAMPLES } from './bounds';
import { MAX_RECIPE_PNG_BYTES, base64Length } from './bridge-protocol';
import { GuidanceMode, ModelId, ProviderName, RecordedRunRequest, RunRequest, SamplerName } from './run-request';
import { eventChannels, invokeChannels, type InvokeMethod } from './channels';
import { CompareRequest, ForkRequest } from './fork-compare';
import { EvaluationRecord, EvaluationRef, EvaluationShards, EvaluationSpec, EvaluationView } from './evaluation';
import { QueueEntryRef, QueueMove, QueueView } from './queue';
import { GridSweepHandle, GridSweepRequest } from './sweep-grid';
import {
  ClassCount,
  PresetRecord,
  SampleDetail,
  SampleEdit,
  SamplePage,
  SampleQuery,
  SampleRecord,
} from './gallery';

const Id = ModelId;
const Base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64');

// ---------------------------------------------------------------- models

export const ModelInfo = z.object({
  id: z.string(),
  name: z.string(),
  source: z.string(),
  license: z.string(),
  imageSize: z.number().int().positive(),
  channels: z.number().int().positive(),
  classNames: z.array(z.string()),
  classSynonyms: z.array(z.array(z.string())),
  /** Guidance modes this model's graphs allow (a classifier is needed for the guided ones). */
  modes: z.array(GuidanceMode).min(1),
  /** T, the number of diffusion steps the model was trained with. */
  diffusionSteps: z.number().int().positive(),
  /** The trained noise schedule, so the page can tell a guided DDIM spacing that saturates as it is typed. */
  noiseSchedule: z.enum(['linear', 'cosine']).optional(),
  defaults: z.object({
    mode: GuidanceMode,
    sampler: SamplerName,
    steps: z.string(),
    scale: z.number(),
    eta: z.number(),
  }),
  hasEvaluator: z.boolean(),
  /** Execution provider of the open sessions, or null while the model is not loaded. */
  activeProvider: z.string().nullable(),
});
export type ModelInfo = z.infer<typeof ModelInfo>;

/** A model folder the studio found but does not offer, with a sentence that says what to do. */
export const ModelFolderProblem = z.object({ folder: z.string(), message: z.string() });
export type ModelFolderProblem = z.infer<typeof ModelFolderProblem>;

export const LoadModelRequest = z.object({ modelId: Id, provider: ProviderName.default('auto') });
export const LoadedModel = z.object({
  modelId: z.string(),
  requestedProvider: ProviderName,
  activeProvider: z.string(),
  /** Set when the requested provider could not start and another took over. */
  fallbackNote: z.string().nullable(),
  /** The UNet graph in use: float32, or the model's float16 graph (GPU providers). */
  unetPrecision: z.enum(['fp32', 'fp16']),
});
export type LoadedModel = z.infer<typeof LoadedModel>;

// ---------------------------------------------------------------- runs

export const StartRunRequest = z.object({
  request: RunRequest,
  /** Keep xₜ and x̂₀ of every step of every sample for the trajectory viewer. */
  recordTrajectory: z.boolean().default(true),
});
export type StartRunRequest = z.input<typeof StartRunRequest>;

/** An entry of the studio's queue (a run, sweep cell, finish-run or evaluation). A run's gallery id comes with `started`. */
const JobId = z.number().int().positive();

export const RunHandle = z.object({ jobId: JobId });
export type RunHandle = z.infer<typeof RunHandle>;

/** Draws the seeds of a stopped run (interrupted, cancelled or failed) that have no sample yet, into the same run. */
export const FinishRunRequest = z.object({
  runId: z.number().int().positive(),
  recordTrajectory: z.boolean().default(false),
});
export type FinishRunRequest = z.input<typeof FinishRunRequest>;

export const SweepRequest = z.object({
  request: RunRequest,
  /** Each scale runs the same seeds; `request.scale` is ignored. */
  scales: boundedList(z.number().finite().nonnegative(), MAX_SWEEP_SCALES, (max, got) => `a sweep runs at most ${max} guidance scales (got ${got}); split it into several sweeps`).min(1, {
    error: 'a sweep needs at least one guidance scale',
  }),
  recordTrajectory: z.boolean().default(false),
});
export type SweepRequest = z.input<typeof SweepRequest>;

export const SweepHandle = z.object({
  sweepId: Id,
  jobs: z.array(z.object({ jobId: JobId, scale: z.number() })),
});
export type SweepHandle = z.infer<typeof SweepHandle>;

/** A grid the page composed (a PNG with the axis labels drawn in), to be given the sweep's recipe chunk. */
export const TagSweepGridRequest = z.object({ png: recipePngText(), sweep: GridSweepRequest });
export const SweepGridSource = z.object({ png: recipePngText() });
export const SweepGridResult = z.object({
  sweep: GridSweepRequest,
  /** Why the grid's sweep may not reproduce here (another model version, say), or null. */
  warning: z.string().nullable(),
});
export type SweepGridResult = z.infer<typeof SweepGridResult>;

/** A small image as raw 8-bit pixels, row-major, interleaved channels (1 = grey, 3 = RGB). */
export const PreviewImage = z.object({
  seed: z.number().int().nonnegative(),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  channels: z.union([z.literal(1), z.literal(3)]),
  pixels: Base64,
});
export type PreviewImage = z.infer<typeof PreviewImage>;

// ---------------------------------------------------------------- gallery

const SampleId = SampleRecord.shape.id;

/** What the gallery holds, for filling the filter menus. */
export const GalleryFacets = z.object({
  total: z.number().int().nonnegative(),
  models: z.array(z.object({ modelId: z.string(), count: z.number().int().nonnegative() })),
  classes: z.array(z.object({ modelId: z.string(), classes: z.array(ClassCount) })),
  tags: z.array(z.string()),
});
export type GalleryFacets = z.infer<typeof GalleryFacets>;

export const SampleRef = z.object({ sampleId: SampleId });
export type SampleRef = z.infer<typeof SampleRef>;

/** Whole factors a sample may be exported at: 1:1, or enlarged by nearest neighbour for small models. */
export const EXPORT_UPSCALES = [1, 4, 8] as const;
export const ExportUpscale = z.literal(EXPORT_UPSCALES, {
  error: `the export size must be ×${EXPORT_UPSCALES.join(', ×')}`,
});
export type ExportUpscale = z.infer<typeof ExportUpscale>;

export const ExportPngRequest = SampleRef.extend({ upscale: ExportUpscale.default(1) });
export type ExportPngRequest = z.input<typeof ExportPngRequest>;

/** Picked samples' PNGs (each with its recipe) in one zip. */
export const SamplesZipRequest = z.object({
  sampleIds: z
    .array(SampleId)
    .min(1, { error: 'pick at least one sample to export' })
    .max(MAX_ZIP_EXPORT_SAMPLES, { error: `at most ${MAX_ZIP_EXPORT_SAMPLES.toLocaleString('en-US')} samples go in one zip; export the rest in another` }),
  upscale: ExportUpscale.default(1),
});
export type SamplesZipRequest = z.input<typeof SamplesZipRequest>;

/** A sample's trajectory as a zip of .npy arrays (the command line's layout) or as an animated PNG of xₜ or x̂₀. */
export const TrajectoryExportRequest = SampleRef.extend({
  format: z.enum(['npy-zip', 'animation'], { error: 'the trajectory export format must be "npy-zip" or "animation"' }),
  /** Which image the animation shows; the zip holds both. */
  image: z.enum(['xt', 'x0'], { error: 'the animation shows "xt" or "x0"' }).default('x0'),
});
export type TrajectoryExportRequest = z.input<typeof TrajectoryExportRequest>;

/** Recorded steps to ask a network about: all of them when `steps` is absent. */
export const TrajectoryQuestion = SampleRef.extend({
  steps: z
    .array(z.number().int({ error: 'a step index is a whole number' }).nonnegative({ error: 'a step index is 0 or more' }))
    .min(1, { error: 'name at least one step, or leave the steps out to ask about all of them' })
    .max(100_000)
    .optional(),
});
export type TrajectoryQuestion = z.input<typeof TrajectoryQuestion>;

export const ExportedFile = z.object({ fileName: z.string(), mimeType: z.string(), bytes: Base64 });
export type ExportedFile = z.infer<typeof ExportedFile>;

export const ExportedPng = z.object({ fileName: z.string(), png: Base64 });
export type ExportedPng = z.infer<typeof ExportedPng>;

/** A PNG's base64, at most MAX_RECIPE_PNG_BYTES, so it fits in one bridge message. */
function recipePngText() {
  return z
    .string()
    .max(base64Length(MAX_RECIPE_PNG_BYTES), {
      error: (issue) =>
        `a recipe PNG is at most ${formatCount(MAX_RECIPE_PNG_BYTES / 1024 / 1024)} MiB (got about ${formatCount(Math.round(((typeof issue.input === 'string' ? issue.input.length : 0) * 3) / 4 / 1024 / 1024))} MiB); a studio PNG is far smaller, so pick the exported image itself`,
      abort: true,
    })
    .regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64');
}

/** A PNG whose recipe is read. */
export const RecipeSource = z.object({ png: recipePngText() });
export const RecipeResult = z.object({
  request: RunRequest,
  /** Why the recipe may not reproduce the image here (another model version, say), or null. */
  warning: z.string().nullable(),
});
export type RecipeResult = z.infer<typeof RecipeResult>;

/** An image the page shows by URL; see `imagePath` for how a reference becomes a path. */
export const ImageRef = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('sample'), sampleId: SampleId }),
  z.object({ kind: z.literal('thumbnail'), sampleId: SampleId }),
  z.object({ kind: z.literal('xt'), sampleId: SampleId, step: z.number().int().nonnegative() }),
  z.object({ kind: z.literal('x0'), sampleId: SampleId, step: z.number().int().nonnegative() }),
  /** |∇ₓ log p(y | xₜ)| per pixel of a recorded step, colour-mapped, scaled to that step's largest value. */
  z.object({ kind: z.literal('heat'), sampleId: SampleId, step: z.number().int().nonnegative() }),
]);
export type ImageRef = z.infer<typeof ImageRef>;

/** Scheme of the custom protocol through which the Electron window loads gallery images. */
export const imageProtocolScheme = 'studio-image';

/** Path of an image below the image root: `sample/<id>.png`, `xt/<id>/<step>.png`, … */
export function imagePath(ref: ImageRef): string {
  if (ref.kind === 'xt' || ref.kind === 'x0' || ref.kind === 'heat') return `${ref.kind}/${ref.sampleId}/${ref.step}.png`;
  return `${ref.kind}/${ref.sampleId}.png`;
}

/** Inverse of `imagePath`; null for anything else (the caller answers 404). */
export function parseImagePath(path: string): ImageRef | null {
  const single = /^(sample|thumbnail)\/([1-9]\d{0,15})\.png$/.exec(path);
  if (single) return { kind: single[1] as 'sample' | 'thumbnail', sampleId: Number(single[2]) };
  const stepped = /^(xt|x0|heat)\/([1-9]\d{0,15})\/(\d{1,6})\.png$/.exec(path);
  if (stepped) return { kind: stepped[1] as 'xt' | 'x0' | 'heat', sampleId: Number(stepped[2]), step: Number(stepped[3]) };
  return null;
}

// ---------------------------------------------------------------- presets

export const SavePresetRequest = PresetRecord.pick({ name: true, settings: true });
export const PresetRef = z.object({ presetId: PresetRecord.shape.id });

// ---------------------------------------------------------------- events

const RunEventBase = z.object({ jobId: JobId, sweepId: Id.nullable() });

export const RunEvent = z.discriminatedUnion('type', [
  RunEventBase.extend({
    type: z.literal('started'),
    /** The run's id in the gallery (SampleRecord.runId). */
    runId: z.number().int().positive(),
    /** A finished run's request may be one recorded before the per-run seed bound. */
    request: RecordedRunRequest,
    /** Sampling steps per batch after respacing. */
    totalSteps: z.number().int().positive(),
    sampleCount: z.number().int().positive(),
    activeProvider: z.string(),
  }),
  RunEventBase.extend({
    type: z.literal('step'),
    /** 1-based step within the current batch. */
    step: z.number().int().positive(),
    totalSteps: z.number().int().positive(),
    batchIndex: z.number().int().nonnegative(),
    batchCount: z.number().int().positive(),
    stepsPerSecond: z.number().nonnegative(),
    secondsLeft: z.number().nonnegative(),
    /** x̂₀ of each sample of the batch at this step; empty when previews are throttled. */
    previews: z.array(PreviewImage),
  }),
  RunEventBase.extend({ type: z.literal('sample'), sample: SampleRecord }),
  RunEventBase.extend({
    type: z.literal('finished'),
    status: z.enum(['completed', 'cancelled', 'failed']),
    /** A sentence for the user when the run failed. */
    message: z.string().nullable(),
    sampleCount: z.number().int().nonnegative(),
  }),
]);
export type RunEvent = z.infer<typeof RunEvent>;

// ---------------------------------------------------------------- the operation table

const NoRequest = z.void();

function operation<Request extends z.ZodType, Response extends z.ZodType>(
  method: InvokeMethod,
  request: Request,
  response: Response,
) {
  return { channel: invokeChannels[method], request, response };
}

/** Channel, request schema and response schema of every StudioApi method. */
export const studioOperations = {
  listModels: operation('listModels', NoRequest, z.array(ModelInfo)),
  listModelProblems: operation('listModelProblems', NoRequest, z.array(ModelFolderProblem)),
  loadModel: operation('loadModel', LoadModelRequest, LoadedModel),
  startRun: operation('startRun', StartRunRequest, RunHandle),
  /** Cancels any queue entry by its job id: a run, a sweep cell, a finish-run or an evaluation. */
  cancelRun: operation('cancelRun', RunHandle, z.object({ cancelled: z.boolean() })),
  finishRun: operation('finishRun', FinishRunRequest, RunHandle),
  /** Continues a sample's trajectory from a step with other settings: a new run linked to it (forkOf). */
  forkSample: operation('forkSample', ForkRequest, RunHandle),
  /** Run B of an A/B comparison: the sample's request with one setting changed, on its seed (comparedWith). */
  compareSample: operation('compareSample', CompareRequest, RunHandle),
  startSweep: operation('startSweep', SweepRequest, SweepHandle),
  startGridSweep: operation('startGridSweep', GridSweepRequest, GridSweepHandle),
  tagSweepGrid: operation('tagSweepGrid', TagSweepGridRequest, ExportedPng),
  readSweepGrid: operation('readSweepGrid', SweepGridSource, SweepGridResult),
  listSamples: operation('listSamples', SampleQuery, SamplePage),
  getSample: operation('getSample', SampleRef, SampleDetail),
  galleryFacets: operation('galleryFacets', NoRequest, GalleryFacets),
  editSample: operation('editSample', SampleEdit, SampleRecord),
  deleteSample: operation('deleteSample', SampleRef, z.object({ deleted: z.boolean() })),
  exportPng: operation('exportPng', ExportPngRequest, ExportedPng),
  exportTrajectory: operation('exportTrajectory', TrajectoryExportRequest, ExportedFile),
  /** Runs the guiding classifier on the stored xₜ of recorded steps that have no classifier view, and stores what it saw. */
  askClassifier: operation('askClassifier', TrajectoryQuestion, SampleDetail),
  /** Runs the model's evaluator on the stored x̂₀ of recorded steps, and stores p(y | x̂₀). */
  askEvaluator: operation('askEvaluator', TrajectoryQuestion, SampleDetail),
  exportSamplesZip: operation('exportSamplesZip', SamplesZipRequest, ExportedFile),
  readRecipe: operation('readRecipe', RecipeSource, RecipeResult),
  listPresets: operation('listPresets', NoRequest, z.array(PresetRecord)),
  savePreset: operation('savePreset', SavePresetRequest, PresetRecord),
  deletePreset: operation('deletePreset', PresetRef, z.object({ deleted: z.boolean() })),
  startEvaluation: operation('startEvaluation', EvaluationSpec, EvaluationRecord),
  resumeEvaluation: operation('resumeEvaluation', EvaluationRef, EvaluationRecord),
  cancelEvaluation: operation('cancelEvaluation', EvaluationRef, z.object({ cancelled: z.boolean() })),
  listEvaluations: operation('listEvaluations', NoRequest, z.array(EvaluationRecord)),
  getEvaluation: operation('getEvaluation', EvaluationRef, EvaluationView),
  /** The shards of a sharded evaluation running or last run in this process; null for others. */
  getEvaluationShards: operation('getEvaluationShards', EvaluationRef, EvaluationShards.nullable()),
  listQueue: operation('listQueue', NoRequest, QueueView),
  pauseQueue: operation('pauseQueue', NoRequest, QueueView),
  resumeQueue: operation('resumeQueue', NoRequest, QueueView),
  moveQueueEntry: operation('moveQueueEntry', QueueMove, QueueView),
  removeQueueEntry: operation('removeQueueEntry', QueueEntryRef, QueueView),
} satisfies Record<InvokeMethod, { channel: string; request: z.ZodType; response: z.ZodType }>;

export type StudioOperations = typeof studioOperations;

type Operation<M extends InvokeMethod> = StudioOperations[M];
export type RequestOf<M extends InvokeMethod> = z.input<Operation<M>['request']>;
export type ParsedRequestOf<M extends InvokeMethod> = z.output<Operation<M>['request']>;
export type ResponseOf<M extends InvokeMethod> = z.output<Operation<M>['response']>;

/** The event schemas, by channel. */
export const studioEvents = {
  [eventChannels.runEvent]: RunEvent,
} as const;

export type Unsubscribe = () => void;

/** What the page sees: one function per operation, plus event subscriptions. */
export type StudioApi = {
  [M in InvokeMethod]: Operation<M>['request'] extends z.ZodVoid
    ? () => Promise<ResponseOf<M>>
    : (request: RequestOf<M>) => Promise<ResponseOf<M>>;
} & {
  onRunEvent(listener: (event: RunEvent) => void): Unsubscribe;
};

/** What the service implements: requests arrive already validated and with defaults applied. */
export type StudioHandlers = {
  [M in InvokeMethod]: Operation<M>['request'] extends z.ZodVoid
    ? () => Promise<ResponseOf<M>>
    : (request: ParsedRequestOf<M>) => Promise<ResponseOf<M>>;
};

/** An error the user can read: what was wrong and what to do. Crosses processes as its message. */
export const StudioErrorPayload = z.object({ message: z.string() });
