import { z } from 'zod';
import { boundedText, TEXT_LIMITS } from './bounds';
import { ClassIndex, GuidanceMode, ModelId, ProviderName, RecordedRunRequest, RunRequest, SamplerName } from './run-request';

/** Milliseconds since the Unix epoch. */
const Timestamp = z.number().int().nonnegative();
const Id = z.number().int().positive();

/** `interrupted`: the process died while the run was going; its finished samples are kept. */
export const StoredRunStatus = z.enum(['running', 'completed', 'cancelled', 'failed', 'interrupted']);
export type StoredRunStatus = z.infer<typeof StoredRunStatus>;

/** Runs that stopped before their last seed: the seeds they lack can still be drawn into them. */
export const STOPPED_RUN_STATUSES: readonly StoredRunStatus[] = ['interrupted', 'cancelled', 'failed'];

export const ModelRecord = z.object({
  id: z.string().min(1),
  /** Fingerprint of the model's files; a recipe names it so a re-run uses the same weights. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  name: z.string(),
  imageSize: z.number().int().positive(),
  classCount: z.number().int().positive(),
  addedAt: Timestamp,
});
export type ModelRecord = z.infer<typeof ModelRecord>;

export const RunRecord = z.object({
  id: Id,
  modelId: z.string(),
  modelSha256: z.string(),
  /** The sha256 of the classifier that guided the run; null when the mode needs none, or for runs older than the field. */
  classifierSha256: z.string().nullable(),
  request: RecordedRunRequest,
  /** The execution provider that really ran the job (the request may say `auto`). */
  provider: ProviderName,
  /** Why the job did not run on the provider its request asked for, in a sentence; null when it did, or for runs older than the field. */
  providerFallback: z.string().nullable(),
  noiseAlgorithm: z.string(),
  appVersion: z.string(),
  status: StoredRunStatus,
  error: z.string().nullable(),
  evaluationId: Id.nullable(),
  startedAt: Timestamp,
  endedAt: Timestamp.nullable(),
  sampleCount: z.number().int().nonnegative(),
});
export type RunRecord = z.infer<typeof RunRecord>;

/** One gallery item without its image bytes (those are fetched separately). */
export const SampleRecord = z.object({
  id: Id,
  runId: Id,
  modelId: z.string(),
  classIndex: z.number().int().nonnegative(),
  scale: z.number(),
  mode: GuidanceMode,
  sampler: SamplerName,
  steps: z.string(),
  seed: z.number().int().nonnegative(),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  hasThumbnail: z.boolean(),
  /** w of classifier-free guidance the run drew with (the default when it named none); null outside the classifier-free modes. */
  cfgScale: z.number().nullable(),
  /** Final classifier confidence p(y | x₀), when the run had a classifier. */
  confidence: z.number().nullable(),
  favorite: z.boolean(),
  tags: z.array(z.string()),
  notes: z.string(),
  createdAt: Timestamp,
});
export type SampleRecord = z.infer<typeof SampleRecord>;

/** A class and the probability a network gives it. */
export const ClassProbability = z.object({ classIndex: z.number().int().nonnegative(), probability: z.number().min(0).max(1) });
export type ClassProbability = z.infer<typeof ClassProbability>;

/** How many of the classifier's most probable classes each recorded step keeps. */
export const CLASSIFIER_TOP_CLASSES = 3;

/** One classifier pass on a recorded xₜ. */
export const ClassifierView = z.object({
  /** The original timestep index the classifier was told xₜ is at. */
  t: z.number().int().nonnegative(),
  /** p(y | xₜ) of the sample's class. */
  probability: z.number().min(0).max(1),
  /** The most probable classes under softmax(logits), most probable first. */
  top: z.array(ClassProbability).min(1).max(CLASSIFIER_TOP_CLASSES),
  /** The largest per-pixel |∇ₓ log p(y | xₜ)| (L2 over channels, before the guidance scale): the heatmap's white. */
  gradientMax: z.number().nonnegative(),
});
export type ClassifierView = z.infer<typeof ClassifierView>;

export const TrajectoryStepRecord = z.object({
  /** Position in the recorded sequence, 0 = first step taken (noisiest). */
  index: z.number().int().nonnegative(),
  /** Original (un-respaced) timestep index. */
  t: z.number().int().nonnegative(),
  /** p(y | xₜ) from the classifier, when guided. */
  probability: z.number().nullable(),
  /** ‖∇ₓ log p(y | xₜ)‖, when guided. */
  gradientNorm: z.number().nullable(),
  /**
   * What the classifier sees in the xₜ stored with this step, read at the timestep that xₜ is at
   * (the next step's t; 0 after the last step): null until a pass ran, during the run or asked for.
   */
  classifierView: ClassifierView.nullable(),
  /** The evaluator's p(y | x̂₀) on this step's x̂₀; null until asked for. */
  evaluatorProbability: z.number().min(0).max(1).nullable(),
});
export type TrajectoryStepRecord = z.infer<typeof TrajectoryStepRecord>;

export const SampleDetail = z.object({
  sample: SampleRecord,
  run: RunRecord,
  trajectory: z.array(TrajectoryStepRecord),
});
export type SampleDetail = z.infer<typeof SampleDetail>;

const TagText = boundedText('a tag', TEXT_LIMITS.tag).trim().min(1, { error: 'a tag must not be empty' });

export const SampleSort = z.enum(['newest', 'oldest', 'scale-high', 'scale-low', 'confidence-high', 'confidence-low']);
export type SampleSort = z.infer<typeof SampleSort>;

/** Filters for the gallery grid; every field narrows the result, absent fields do not. */
export const SampleQuery = z.object({
  modelId: ModelId.optional(),
  classIndex: ClassIndex.optional(),
  scaleMin: z.number().finite().optional(),
  scaleMax: z.number().finite().optional(),
  /** Bounds on w of classifier-free guidance; samples drawn without it never match a bound. */
  cfgScaleMin: z.number().finite().optional(),
  cfgScaleMax: z.number().finite().optional(),
  sampler: SamplerName.optional(),
  favorite: z.boolean().optional(),
  tag: TagText.optional(),
  /** Case-insensitive text to find in the notes. */
  notesText: boundedText('the notes search text', TEXT_LIMITS.notesSearch).min(1).optional(),
  runId: Id.optional(),
  /** Leaves out the samples evaluations drew, which can outnumber everything else by far. */
  hideEvaluations: z.boolean().optional(),
  /** Order of the grid; newest first unless asked otherwise. */
  sort: SampleSort.optional(),
  /** Keyset cursor of the newest-first order: the `nextCursor` of the previous page. */
  before: Id.optional(),
  /** Samples to skip in the other orders: the `nextOffset` of the previous page. */
  offset: z.number().int().nonnegative().max(100_000_000).optional(),
  limit: z.number().int().min(1).max(500).default(60),
});
export type SampleQuery = z.input<typeof SampleQuery>;

export const SamplePage = z.object({
  items: z.array(SampleRecord),
  /** Pass as `before` to get the next page; null on the last page. */
  nextCursor: Id.nullable(),
  /** Pass as `offset` to get the next page of an order other than newest first; null on the last page. */
  nextOffset: z.number().int().nonnegative().nullable(),
  /** How many samples match the filters, on every page (paging itself aside). */
  matching: z.number().int().nonnegative(),
});
export type SamplePage = z.infer<typeof SamplePage>;

export const ClassCount = z.object({ classIndex: z.number().int().nonnegative(), count: z.number().int().positive() });
export type ClassCount = z.infer<typeof ClassCount>;

export const SampleEdit = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('favorite'), sampleId: Id, favorite: z.boolean() }),
  z.object({ kind: z.literal('tag'), sampleId: Id, tag: TagText }),
  z.object({ kind: z.literal('untag'), sampleId: Id, tag: TagText }),
  z.object({ kind: z.literal('notes'), sampleId: Id, notes: boundedText('the notes text', TEXT_LIMITS.notes) }),
]);
export type SampleEdit = z.infer<typeof SampleEdit>;

/** Saved sampler settings: a run request without seeds. */
export const PresetSettings = RunRequest.omit({ seeds: true });
export type PresetSettings = z.infer<typeof PresetSettings>;
export type PresetSettingsInput = z.input<typeof PresetSettings>;

export const PresetRecord = z.object({
  id: Id,
  name: boundedText('a preset name', TEXT_LIMITS.presetName).trim().min(1, { error: 'a preset needs a name' }),
  settings: PresetSettings,
  updatedAt: Timestamp,
});
export type PresetRecord = z.infer<typeof PresetRecord>;
