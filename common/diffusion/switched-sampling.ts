/**
 * A run whose settings change at a step: the first sampler takes steps 0 … k − 1, then the
 * second continues from its x with its own guidance, denoiser and sampler. The noise source is
 * indexed by the step, so the later steps draw the same noise a whole run would draw there.
 */
import type { Sampler, SamplerInput, SamplerStep } from './sampler';

export interface SamplingPhase {
  sampler: Sampler;
  input: Omit<SamplerInput, 'start'>;
}

export interface SwitchedPhase extends SamplingPhase {
  /** First step the phase takes (0-based). */
  step: number;
}

/** Yields every step of `first`, or of `first` up to the switch and then of `then` from it. */
export async function* switchedSampling(first: SamplingPhase, then: SwitchedPhase | null): AsyncGenerator<SamplerStep, void, void> {
  if (then === null) {
    yield* first.sampler(first.input);
    return;
  }
  let before: Float32Array | null = null;
  for await (const step of first.sampler(first.input)) {
    yield step;
    if (step.step === then.step - 1) {
      // Copied before the first sampler is resumed (or closed), which would reuse the buffer.
      before = step.xt.slice();
      break;
    }
  }
  if (before === null) throw new Error(`The first sampler ended before step ${then.step}, where the switch was to take over.`);
  yield* then.sampler({ ...then.input, start: { step: then.step, xt: before } });
}
