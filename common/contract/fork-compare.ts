/**
 * Forks and A/B comparisons of a gallery sample: both queue one run of the sample's recorded
 * request with its own seed and the trajectory kept, linked to the sample in that request.
 */
import { z } from 'zod';
import { MAX_GUIDANCE_SCALE } from './bounds';
import { ClassIndex, GuidanceScheduleSetting, SamplerName, StepsText, SwitchAt } from './run-request';

const SampleId = z.number({ error: 'a sample id must be a whole number' }).int({ error: 'a sample id must be a whole number' }).positive({ error: 'a sample id must be 1 or more' });

/**
 * Continue a sample's trajectory from sampling step `step` with other settings: steps 0 … step − 1
 * are the sample's own (replayed from its seed), the steps from `step` on take `changes` and the same noise.
 */
export const ForkRequest = z.object({
  sampleId: SampleId,
  step: SwitchAt.shape.step,
  changes: SwitchAt.omit({ step: true }),
});
export type ForkRequest = z.infer<typeof ForkRequest>;

const weight = (what: string) =>
  z
    .number({ error: `${what} must be a number` })
    .finite({ error: `${what} must be a number` })
    .min(0, { error: `${what} must be 0 or more` })
    .max(MAX_GUIDANCE_SCALE, { error: `${what} is at most ${MAX_GUIDANCE_SCALE}` });

/** Run B of an A/B comparison: sample A's request with this one setting changed, on A's seed. */
export const CompareRequest = z.discriminatedUnion('setting', [
  z.object({ sampleId: SampleId, setting: z.literal('classIndex'), value: ClassIndex }),
  z.object({ sampleId: SampleId, setting: z.literal('scale'), value: weight('the guidance scale') }),
  z.object({ sampleId: SampleId, setting: z.literal('cfgScale'), value: weight('the classifier-free guidance weight') }),
  z.object({ sampleId: SampleId, setting: z.literal('eta'), value: z.number({ error: 'η must be a number from 0 to 1' }).finite().min(0, { error: 'η must be at least 0' }).max(1, { error: 'η is at most 1' }) }),
  z.object({ sampleId: SampleId, setting: z.literal('steps'), value: StepsText }),
  z.object({ sampleId: SampleId, setting: z.literal('sampler'), value: SamplerName }),
  z.object({ sampleId: SampleId, setting: z.literal('guidanceSchedule'), value: GuidanceScheduleSetting }),
]);
export type CompareRequest = z.infer<typeof CompareRequest>;
