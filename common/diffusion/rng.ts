/**
 * Counter-based Gaussian noise: Philox4x32-10 (Salmon et al. 2011, "Parallel random numbers:
 * as easy as 1, 2, 3") with the Box–Muller transform. The value for (seed, stream, element)
 * is a pure function of those three numbers, so a sample's noise never depends on which other
 * samples share its batch, on the batch size, or on the execution provider.
 * Layout (docs/noise-generator.md): key = (seed, 0); counter = (⌊element/4⌋, stream, 0, 0);
 * the four 32-bit outputs make two Box–Muller pairs for elements 4j … 4j+3.
 */

/** Recorded with every sample so a later change of generator is detectable. */
export const NOISE_ALGORITHM = 'philox4x32-10/box-muller/v1';

const PHILOX_M0 = 0xd2511f53;
const PHILOX_M1 = 0xcd9e8d57;
const PHILOX_W0 = 0x9e3779b9;
const PHILOX_W1 = 0xbb67ae85;
const TWO_POW_MINUS_32 = 2 ** -32;

/** High 32 bits of the 64-bit product of two unsigned 32-bit numbers. */
function mulHi32(a: number, b: number): number {
  const aLow = a & 0xffff;
  const aHigh = a >>> 16;
  const bLow = b & 0xffff;
  const bHigh = b >>> 16;
  const lowLow = aLow * bLow;
  const lowHigh = aLow * bHigh;
  const highLow = aHigh * bLow;
  const middle = (lowLow >>> 16) + (lowHigh & 0xffff) + (highLow & 0xffff);
  return (aHigh * bHigh + (lowHigh >>> 16) + (highLow >>> 16) + (middle >>> 16)) >>> 0;
}

/** One Philox4x32-10 block: writes four uint32 for `counter` under `key` into `out`. */
export function philox4x32(counter: ArrayLike<number>, key: ArrayLike<number>, out: Uint32Array): void {
  let c0 = (counter[0] as number) >>> 0;
  let c1 = (counter[1] as number) >>> 0;
  let c2 = (counter[2] as number) >>> 0;
  let c3 = (counter[3] as number) >>> 0;
  let k0 = (key[0] as number) >>> 0;
  let k1 = (key[1] as number) >>> 0;
  for (let round = 0; round < 10; round++) {
    const hi0 = mulHi32(PHILOX_M0, c0);
    const lo0 = Math.imul(PHILOX_M0, c0) >>> 0;
    const hi1 = mulHi32(PHILOX_M1, c2);
    const lo1 = Math.imul(PHILOX_M1, c2) >>> 0;
    c0 = (hi1 ^ c1 ^ k0) >>> 0;
    c1 = lo1;
    c2 = (hi0 ^ c3 ^ k1) >>> 0;
    c3 = lo0;
    k0 = (k0 + PHILOX_W0) >>> 0;
    k1 = (k1 + PHILOX_W1) >>> 0;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
}

/**
 * Fills `target` with standard normal values for one seed and one stream, element `i` of
 * `target` being element `i` of that (seed, stream) sequence.
 */
export function fillGaussian(target: Float32Array, seed: number, stream: number): void {
  const counter = [0, stream >>> 0, 0, 0];
  const key = [seed >>> 0, 0];
  const bits = new Uint32Array(4);
  for (let block = 0; block * 4 < target.length; block++) {
    counter[0] = block;
    philox4x32(counter, key, bits);
    const base = block * 4;
    for (let pair = 0; pair < 2; pair++) {
      // u₁ ∈ (0, 1] keeps log finite; u₂ ∈ [0, 1) is the angle.
      const u1 = ((bits[pair * 2] as number) + 1) * TWO_POW_MINUS_32;
      const u2 = (bits[pair * 2 + 1] as number) * TWO_POW_MINUS_32;
      const radius = Math.sqrt(-2 * Math.log(u1));
      const angle = 2 * Math.PI * u2;
      const index = base + pair * 2;
      if (index < target.length) target[index] = radius * Math.cos(angle);
      if (index + 1 < target.length) target[index + 1] = radius * Math.sin(angle);
    }
  }
}

/**
 * Where a sampler gets its randomness: x_T, then the noise z of each step (in sampling order,
 * step 0 first). `target` is the whole batch [B, C, H, W].
 */
export interface NoiseSource {
  initial(target: Float32Array): void;
  step(target: Float32Array, step: number): void;
}

/**
 * Spherical interpolation of two noise vectors, written into `from`: t = 0 leaves `from`,
 * t = 1 gives `to`. For two independent standard normal vectors of many elements the angle Ω
 * between them is close to π/2, so the weights sin((1−t)Ω)/sin Ω and sin(tΩ)/sin Ω have
 * squares summing to about 1 and the result is standard normal again, where a straight
 * blend would shrink its variance (to 1/2 at t = 0.5) and give a washed-out image.
 */
export function slerpInto(from: Float32Array, to: Float32Array, t: number): void {
  if (from.length !== to.length) throw new Error(`Cannot interpolate noise of ${from.length} values toward noise of ${to.length}.`);
  let dot = 0;
  let fromNorm = 0;
  let toNorm = 0;
  for (let i = 0; i < from.length; i++) {
    const a = from[i] as number;
    const b = to[i] as number;
    dot += a * b;
    fromNorm += a * a;
    toNorm += b * b;
  }
  const cosine = dot / Math.sqrt(fromNorm * toNorm);
  let fromWeight = 1 - t;
  let toWeight = t;
  // Nearly parallel vectors: sin Ω ≈ 0, and the straight blend is the same curve.
  if (Number.isFinite(cosine) && Math.abs(cosine) < 0.9995) {
    const omega = Math.acos(cosine);
    const sinOmega = Math.sin(omega);
    fromWeight = Math.sin((1 - t) * omega) / sinOmega;
    toWeight = Math.sin(t * omega) / sinOmega;
  }
  for (let i = 0; i < from.length; i++) from[i] = fromWeight * (from[i] as number) + toWeight * (to[i] as number);
}

/** A run's variation (see `variationOf` in the contract): the subseed and how far toward its noise. */
export interface NoiseVariation {
  subseed: number;
  strength: number;
}

/**
 * Stream 0 is x_T; stream k + 1 is the noise of sampling step k. With a variation, every
 * stream of every sample is slerped toward the same stream of the subseed: x_T as A1111 does,
 * and the step noise too, so a small strength gives a nearby image under DDPM (whose fresh
 * noise each step would otherwise come from the seed alone and pull the image far away) and
 * strength 1 gives exactly the subseed's image under every sampler.
 */
export function seededNoise(seeds: readonly number[], variation: NoiseVariation | null = null): NoiseSource {
  const fill = (target: Float32Array, stream: number): void => {
    const perSample = target.length / seeds.length;
    if (!Number.isInteger(perSample)) throw new Error(`A noise buffer of ${target.length} values cannot be split among ${seeds.length} seeds.`);
    const subseedNoise = variation === null ? null : new Float32Array(perSample);
    if (subseedNoise !== null && variation !== null) fillGaussian(subseedNoise, variation.subseed, stream);
    seeds.forEach((seed, sample) => {
      const own = target.subarray(sample * perSample, (sample + 1) * perSample);
      if (variation === null || subseedNoise === null || variation.strength === 0) {
        fillGaussian(own, seed, stream);
      } else if (variation.strength === 1) {
        own.set(subseedNoise);
      } else {
        fillGaussian(own, seed, stream);
        slerpInto(own, subseedNoise, variation.strength);
      }
    });
  };
  return {
    initial: (target) => fill(target, 0),
    step: (target, step) => fill(target, step + 1),
  };
}

/**
 * Noise read from arrays instead: `initial` is x_T [B, C, H, W]; `steps` holds the noise of every
 * sampling step [S, B, C, H, W] (null when the sampler needs none, as DDIM with η = 0).
 */
export function replayedNoise(initial: Float32Array, steps: Float32Array | null): NoiseSource {
  return {
    initial(target) {
      if (initial.length !== target.length) throw new Error(`The replayed x_T holds ${initial.length} values but the batch needs ${target.length}.`);
      target.set(initial);
    },
    step(target, step) {
      const start = step * target.length;
      if (steps === null || steps.length < start + target.length) {
        throw new Error(`The replayed noise has no values for sampling step ${step}: it holds ${steps === null ? 0 : Math.floor(steps.length / target.length)} steps of this batch's size.`);
      }
      target.set(steps.subarray(start, start + target.length));
    },
  };
}
