import { z } from 'zod';
import { boundedList, boundedWholeNumber, MAX_BATCH_SIZE, MAX_CLASS_COUNT, MAX_GUIDANCE_SCALE, MAX_SEEDS_PER_RUN, MAX_SWITCH_STEP, requiredText, TEXT_LIMITS } from './bounds';

/**
 * How the class enters sampling: through the UNet's label, the classifier's gradient, or both;
 * the classifier-free modes mix the UNet's predictions for the class and for its null class
 * with the weight `cfgScale`, alone or with the classifier's gradient on top.
 */
export const GuidanceMode = z.enum(['conditional', 'unconditional+classifier', 'conditional+classifier', 'classifier-free', 'classifier-free+classifier']);
export type GuidanceMode = z.infer<typeof GuidanceMode>;

/** Whether the noisy classifier's gradient steers sampling in this mode. */
export function usesClassifier(mode: GuidanceMode): boolean {
  return mode === 'unconditional+classifier' || mode === 'conditional+classifier' || mode === 'classifier-free+classifier';
}

/** Whether the mode mixes the UNet's class and null-class predictions (classifier-free guidance). */
export function usesClassifierFree(mode: GuidanceMode): boolean {
  return mode === 'classifier-free' || mode === 'classifier-free+classifier';
}

/** w of classifier-free guidance when a request leaves it out: twice as far as the conditional model. */
export const DEFAULT_CFG_SCALE = 2;

/**
 * The classifier scale over the original timesteps t: constant; only inside [tLo, tHi]; or times
 * a factor linear in t, `from` at the noisiest step and `to` at t = 0.
 */
export const GuidanceScheduleSetting = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('constant') }),
  z.object({
    kind: z.literal('interval'),
    tLo: z.number({ error: 'the interval start must be a whole timestep' }).int({ error: 'the interval start must be a whole timestep' }).nonnegative({ error: 'the interval start must be 0 or more' }),
    tHi: z.number({ error: 'the interval end must be a whole timestep' }).int({ error: 'the interval end must be a whole timestep' }).nonnegative({ error: 'the interval end must be 0 or more' }),
  }),
  z.object({
    kind: z.literal('ramp'),
    from: z.number({ error: 'the ramp start factor must be a number' }).finite().min(0, { error: 'the ramp start factor must be 0 or more' }).max(MAX_GUIDANCE_SCALE, { error: `the ramp start factor must be at most ${MAX_GUIDANCE_SCALE}` }),
    to: z.number({ error: 'the ramp end factor must be a number' }).finite().min(0, { error: 'the ramp end factor must be 0 or more' }).max(MAX_GUIDANCE_SCALE, { error: `the ramp end factor must be at most ${MAX_GUIDANCE_SCALE}` }),
  }),
], { error: 'the guidance schedule kind must be constant, interval or ramp' });
export type GuidanceScheduleSetting = z.infer<typeof GuidanceScheduleSetting>;

export const SamplerName = z.enum(['ddpm', 'ddim', 'dpmpp2m']);
export type SamplerName = z.infer<typeof SamplerName>;

export const ProviderName = z.enum(['auto', 'cpu', 'cuda', 'dml', 'coreml', 'webgpu']);
export type ProviderName = z.infer<typeof ProviderName>;

/**
 * Where a run's reverse steps are computed: "device" chains x and the network outputs on the
 * provider, "host" steps on the CPU between network calls, "auto" takes the device where tensors
 * can stay there (WebGPU). Like the provider it changes nothing beyond float rounding, so the
 * recipe leaves it out.
 */
export const StepPlacement = z.enum(['auto', 'device', 'host'], { error: 'where the steps run must be auto, device or host' });
export type StepPlacement = z.infer<typeof StepPlacement>;

export const ModelId = requiredText('a model id', TEXT_LIMITS.modelId);
/** Respacing string: "50", "ddim25", or comma-separated section counts such as "10,15,20". */
export const StepsText = requiredText('the steps setting', TEXT_LIMITS.steps);
export const ClassIndex = boundedWholeNumber('a class index', 0, MAX_CLASS_COUNT - 1);
export const Seed = boundedWholeNumber('a seed', 0, 2 ** 32 - 1);

/**
 * Settings that take over from sampling step `step` on (0-based; steps 0 … step − 1 keep the
 * request's own): a class switch mid-run, or the fork of a recorded trajectory. The guidance mode
 * and the spacing stay the request's, so the later steps visit the same timesteps with the same noise.
 */
export const SwitchAt = z.object({
  step: boundedWholeNumber('the switch step', 1, MAX_SWITCH_STEP),
  classIndex: boundedWholeNumber('the switched class index', 0, MAX_CLASS_COUNT - 1).optional(),
  scale: z.number({ error: 'the switched guidance scale must be a number' }).finite().min(0, { error: 'the switched guidance scale must be 0 or more' }).max(MAX_GUIDANCE_SCALE, { error: `the switched guidance scale is at most ${MAX_GUIDANCE_SCALE}` }).optional(),
  cfgScale: z
    .number({ error: 'the switched classifier-free guidance weight must be a number' })
    .finite()
    .min(0, { error: 'the switched classifier-free guidance weight must be 0 or more' })
    .max(MAX_GUIDANCE_SCALE, { error: `the switched classifier-free guidance weight is at most ${MAX_GUIDANCE_SCALE}` })
    .optional(),
  guidanceSchedule: GuidanceScheduleSetting.optional(),
  sampler: SamplerName.optional(),
  eta: z.number({ error: 'the switched η must be a number from 0 to 1' }).finite().min(0, { error: 'the switched η must be at least 0' }).max(1, { error: 'the switched η is at most 1' }).optional(),
});
export type SwitchAt = z.infer<typeof SwitchAt>;

const GallerySampleId = z.number({ error: 'a sample id must be a whole number' }).int({ error: 'a sample id must be a whole number' }).positive({ error: 'a sample id must be 1 or more' });

/** Where a fork came from: the parent sample and the step its trajectory was continued from. */
export const ForkOf = z.object({ sampleId: GallerySampleId, step: boundedWholeNumber('the fork step', 1, MAX_SWITCH_STEP) });
export type ForkOf = z.infer<typeof ForkOf>;

/** The settings an A/B comparison may change in the compared sample's recorded request. */
export const ComparedSetting = z.enum(['classIndex', 'scale', 'guidanceSchedule', 'sampler', 'steps', 'cfgScale', 'eta']);
export type ComparedSetting = z.infer<typeof ComparedSetting>;

/** Where run B of an A/B comparison came from: sample A and the one setting B changed. */
export const ComparedWith = z.object({ sampleId: GallerySampleId, setting: ComparedSetting });
export type ComparedWith = z.infer<typeof ComparedWith>;

const runSettings = {
  modelId: ModelId,
  classIndex: ClassIndex,
  mode: GuidanceMode,
  scale: z.number().finite().nonnegative(),
  sampler: SamplerName,
  steps: StepsText,
  eta: z.number().finite().min(0).max(1).default(0),
  clipDenoised: z.boolean().default(true),
  batchSize: boundedWholeNumber('the batch size', 1, MAX_BATCH_SIZE, '; larger batches do not fit in memory').default(4),
  provider: ProviderName.default('auto'),
  /** Where the reverse steps run; absent: "auto". */
  stepsOn: StepPlacement.optional(),
  /** w of classifier-free guidance, read in the classifier-free modes only; absent: DEFAULT_CFG_SCALE. */
  cfgScale: z
    .number({ error: 'the classifier-free guidance weight must be a number' })
    .finite()
    .min(0, { error: 'the classifier-free guidance weight must be 0 or more' })
    .max(MAX_GUIDANCE_SCALE, { error: `the classifier-free guidance weight is at most ${MAX_GUIDANCE_SCALE}` })
    .optional(),
  /** How the classifier scale changes over the steps; absent: constant, as recipes before it ran. */
  guidanceSchedule: GuidanceScheduleSetting.optional(),
  /** Variation seed: every sample's noise is moved toward this seed's noise by `subseedStrength`. */
  subseed: Seed.optional(),
  /** How far toward the subseed's noise, 0 (the seed's own image) to 1 (the subseed's image). */
  subseedStrength: z.number({ error: 'the variation strength must be a number from 0 to 1' }).finite().min(0, { error: 'the variation strength must be at least 0' }).max(1, { error: 'the variation strength is at most 1 (the subseed\'s own image)' }).optional(),
  /** Settings that take over from a later step (a class switch, a fork); absent: one set of settings throughout. */
  switchAt: SwitchAt.optional(),
  /** Provenance of a fork: kept in the run's recorded request, so the gallery finds a sample's forks. */
  forkOf: ForkOf.optional(),
  /** Provenance of run B of an A/B comparison, recorded likewise. */
  comparedWith: ComparedWith.optional(),
};

/** Everything needed to produce (and reproduce) a batch of samples, as a request arrives. */
export const RunRequest = z.object({
  ...runSettings,
  seeds: boundedList(Seed, MAX_SEEDS_PER_RUN, (max, got) => `at most ${max} seeds per run (got ${got}); split it into several runs`).min(1, {
    error: 'a run needs at least one seed',
  }),
});
export type RunRequest = z.infer<typeof RunRequest>;

/**
 * A run request as the gallery records it and the engine draws it: any number of seeds, since
 * an evaluation's runs and runs recorded before the per-run bound may hold more than a request may ask.
 */
export const RecordedRunRequest = z.object({ ...runSettings, seeds: z.array(Seed).min(1) });

/** A run's variation: the subseed whose noise every sample's noise is slerped toward, and how far. */
export interface Variation {
  subseed: number;
  strength: number;
}

type VariationSettings = Pick<RunRequest, 'subseed' | 'subseedStrength'>;

/** The run's variation, or null when each sample's noise is its seed's own (no subseed, or strength 0). */
export function variationOf(settings: VariationSettings): Variation | null {
  const strength = settings.subseedStrength ?? 0;
  if (strength === 0 || settings.subseed === undefined) return null;
  return { subseed: settings.subseed, strength };
}

/** Why these variation settings cannot run, as a sentence, or null when they can. */
export function variationProblem(settings: VariationSettings): string | null {
  if ((settings.subseedStrength ?? 0) > 0 && settings.subseed === undefined) {
    return `A variation strength of ${settings.subseedStrength} needs a variation seed (subseed) to move toward; set one, or set the strength to 0.`;
  }
  return null;
}
