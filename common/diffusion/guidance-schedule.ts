/**
 * Guidance schedules: the classifier scale as a function of the original timestep index t.
 * - constant: s at every step (Dhariwal & Nichol 2021);
 * - interval: s for tLo ≤ t ≤ tHi and 0 elsewhere (Kynkäänniemi et al. 2024, "Applying guidance
 *   in a limited interval improves sample and distribution quality"): guidance at high noise
 *   collapses diversity and at low noise does little, so outside the interval the classifier is
 *   not run at all. The paper states the interval in σ = √((1−ᾱ)/ᾱ); `intervalFromSigmas` converts;
 * - ramp: s times a factor linear in t, `from` at the noisiest step (t = T−1) and `to` at t = 0.
 */
import type { DiffusionCoefficients } from './schedule';

export type GuidanceSchedule =
  | { kind: 'constant' }
  | { kind: 'interval'; tLo: number; tHi: number }
  | { kind: 'ramp'; from: number; to: number };

export const constantGuidance: GuidanceSchedule = { kind: 'constant' };

/** The classifier scale at original timestep index t of a process trained with T = `originalSteps`. */
export function scaleAt(schedule: GuidanceSchedule, scale: number, t: number, originalSteps: number): number {
  switch (schedule.kind) {
    case 'constant':
      return scale;
    case 'interval':
      return t >= schedule.tLo && t <= schedule.tHi ? scale : 0;
    case 'ramp': {
      const fraction = originalSteps > 1 ? t / (originalSteps - 1) : 0;
      return scale * (schedule.to + (schedule.from - schedule.to) * fraction);
    }
  }
}

/** Throws a sentence for a schedule no run can use; returns it unchanged otherwise. */
export function checkGuidanceSchedule(schedule: GuidanceSchedule, originalSteps: number): GuidanceSchedule {
  if (schedule.kind === 'interval') {
    const { tLo, tHi } = schedule;
    if (!Number.isInteger(tLo) || !Number.isInteger(tHi) || tLo < 0 || tHi > originalSteps - 1 || tLo > tHi) {
      throw new Error(`A guidance interval needs whole timesteps 0 ≤ tLo ≤ tHi ≤ ${originalSteps - 1}, got [${tLo}, ${tHi}]. Pick the interval inside the model's ${originalSteps} timesteps.`);
    }
  }
  if (schedule.kind === 'ramp' && !(Number.isFinite(schedule.from) && Number.isFinite(schedule.to))) {
    throw new Error(`A guidance ramp needs finite factors at its two ends, got ${schedule.from} → ${schedule.to}.`);
  }
  return schedule;
}

/**
 * The interval of original timesteps whose σₜ = √((1−ᾱₜ)/ᾱₜ) lies in [sigmaLo, sigmaHi], as
 * the interval paper states it (σ rises with t, so tLo is the first t with σₜ ≥ sigmaLo).
 */
export function intervalFromSigmas(base: Pick<DiffusionCoefficients, 'alphasCumprod'>, sigmaLo: number, sigmaHi: number): GuidanceSchedule {
  const sigmas = Array.from(base.alphasCumprod, (alphaBar) => Math.sqrt((1 - alphaBar) / alphaBar));
  const tLo = sigmas.findIndex((sigma) => sigma >= sigmaLo);
  let tHi = -1;
  sigmas.forEach((sigma, t) => {
    if (sigma <= sigmaHi) tHi = t;
  });
  if (tLo < 0 || tHi < tLo) {
    throw new Error(`No timestep of this model has σ between ${sigmaLo} and ${sigmaHi} (its σ runs from ${(sigmas[0] as number).toPrecision(3)} to ${(sigmas[sigmas.length - 1] as number).toPrecision(3)}). Widen the interval.`);
  }
  return { kind: 'interval', tLo, tHi };
}
