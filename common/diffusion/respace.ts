/**
 * Timestep respacing: sample with a subset of the T training timesteps. The kept steps get
 * new βᵢ = 1 − ᾱ(kᵢ)/ᾱ(kᵢ₋₁), and the networks are always fed the original index kᵢ
 * through `timestepMap`.
 */
import { betasForSchedule, diffusionCoefficients, type DiffusionCoefficients, type NoiseScheduleName } from './schedule';

/** A diffusion process over the kept timesteps; index i of every array is kept step i. */
export interface SpacedDiffusion extends DiffusionCoefficients {
  /** Original (training) timestep index of each kept step, ascending. */
  readonly timestepMap: Int32Array;
  /** T of the training process. */
  readonly originalSteps: number;
}

/** Python's round(): halves go to the even neighbour. */
function roundHalfEven(value: number): number {
  const floor = Math.floor(value);
  const difference = value - floor;
  if (difference > 0.5) return floor + 1;
  if (difference < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

function badSteps(spec: string, totalSteps: number, why: string): Error {
  return new Error(`Steps "${spec}" cannot be used with this model (T = ${totalSteps}): ${why}. Use a count from 1 to ${totalSteps} such as "50", "ddim50", or section counts such as "10,15,20".`);
}

/**
 * The kept timesteps for a respacing string, ascending.
 * - "ddimN": the smallest integer stride s with |range(0, T, s)| = N.
 * - "N" or "a,b,c": T is cut into equal sections; each keeps its count at a fractional stride, rounded.
 */
export function spaceTimesteps(totalSteps: number, spec: string): number[] {
  const text = spec.trim();
  const ddim = /^ddim(\d+)$/.exec(text);
  if (ddim) {
    const desired = Number.parseInt(ddim[1] as string, 10);
    if (desired < 1 || desired > totalSteps) throw badSteps(spec, totalSteps, `the step count must be between 1 and ${totalSteps}`);
    for (let stride = 1; stride < Math.max(totalSteps, 2); stride++) {
      if (Math.ceil(totalSteps / stride) === desired) {
        return Array.from({ length: desired }, (_, index) => index * stride);
      }
    }
    throw badSteps(spec, totalSteps, `no integer stride gives exactly ${desired} steps`);
  }
  if (!/^\d+(\s*,\s*\d+)*$/.test(text)) throw badSteps(spec, totalSteps, 'it is neither "ddimN" nor comma-separated whole numbers');
  const sectionCounts = text.split(',').map((part) => Number.parseInt(part.trim(), 10));
  const total = sectionCounts.reduce((sum, count) => sum + count, 0);
  if (total < 1) throw badSteps(spec, totalSteps, 'at least one step is needed');
  if (total > totalSteps) throw badSteps(spec, totalSteps, `${total} steps is more than the ${totalSteps} the model was trained with`);
  const sizePerSection = Math.floor(totalSteps / sectionCounts.length);
  const extra = totalSteps % sectionCounts.length;
  const kept = new Set<number>();
  let sectionStart = 0;
  sectionCounts.forEach((count, sectionIndex) => {
    const size = sizePerSection + (sectionIndex < extra ? 1 : 0);
    if (size < count) throw badSteps(spec, totalSteps, `section ${sectionIndex + 1} spans ${size} timesteps and cannot keep ${count}`);
    const stride = count <= 1 ? 1 : (size - 1) / (count - 1);
    let position = 0;
    for (let k = 0; k < count; k++) {
      kept.add(sectionStart + roundHalfEven(position));
      position += stride;
    }
    sectionStart += size;
  });
  return [...kept].sort((a, b) => a - b);
}

/** The respaced process of a schedule: new betas at the kept steps, and the map back to original indices. */
export function spacedDiffusion(schedule: NoiseScheduleName, totalSteps: number, spec: string): SpacedDiffusion {
  const base = diffusionCoefficients(betasForSchedule(schedule, totalSteps));
  const kept = spaceTimesteps(totalSteps, spec);
  const betas = new Float64Array(kept.length);
  let lastAlphaCumprod = 1;
  kept.forEach((originalIndex, index) => {
    const alphaCumprod = base.alphasCumprod[originalIndex] as number;
    betas[index] = 1 - alphaCumprod / lastAlphaCumprod;
    lastAlphaCumprod = alphaCumprod;
  });
  return { ...diffusionCoefficients(betas), timestepMap: Int32Array.from(kept), originalSteps: totalSteps };
}
