import { describe, expect, it } from 'vitest';
import { fillGaussian, seededNoise, slerpInto } from '../../common/diffusion/rng';
import { variationOf, variationProblem } from '../../common/contract/run-request';

function moments(values: Float32Array): { mean: number; variance: number } {
  const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
  const variance = values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / values.length;
  return { mean, variance };
}

function gaussian(length: number, seed: number, stream: number): Float32Array {
  const values = new Float32Array(length);
  fillGaussian(values, seed, stream);
  return values;
}

const perSample = 3 * 28 * 28;

describe('variation noise (slerp toward a subseed)', () => {
  it('leaves the seed\'s noise exactly as it is at strength 0, in x_T and in every step', () => {
    const plain = seededNoise([7, 8]);
    const varied = seededNoise([7, 8], { subseed: 99, strength: 0 });
    for (const draw of [(source: typeof plain, target: Float32Array) => source.initial(target), (source: typeof plain, target: Float32Array) => source.step(target, 4)]) {
      const expected = new Float32Array(2 * perSample);
      const got = new Float32Array(2 * perSample);
      draw(plain, expected);
      draw(varied, got);
      expect(got).toEqual(expected);
    }
  });

  it('gives exactly the subseed\'s x_T and step noise at strength 1, for every seed of the batch', () => {
    const varied = seededNoise([7, 8, 9], { subseed: 99, strength: 1 });
    const initial = new Float32Array(3 * perSample);
    varied.initial(initial);
    const step = new Float32Array(3 * perSample);
    varied.step(step, 2);
    for (let sample = 0; sample < 3; sample++) {
      expect(initial.subarray(sample * perSample, (sample + 1) * perSample)).toEqual(gaussian(perSample, 99, 0));
      expect(step.subarray(sample * perSample, (sample + 1) * perSample)).toEqual(gaussian(perSample, 99, 3));
    }
  });

  it('reaches the end points through the interpolation itself, not only through its shortcuts', () => {
    const to = gaussian(perSample, 2, 0);
    const atZero = gaussian(perSample, 1, 0);
    slerpInto(atZero, to, 0);
    expect(atZero).toEqual(gaussian(perSample, 1, 0));
    const atOne = gaussian(perSample, 1, 0);
    slerpInto(atOne, to, 1);
    for (let i = 0; i < perSample; i++) expect(atOne[i]).toBeCloseTo(to[i] as number, 5);
  });

  it('stays standard normal in between, where a straight blend would shrink the variance to one half', () => {
    const length = 200_000;
    for (const strength of [0.1, 0.5, 0.9]) {
      const varied = new Float32Array(length);
      seededNoise([1234], { subseed: 4321, strength }).initial(varied);
      const { mean, variance } = moments(varied);
      expect(Math.abs(mean)).toBeLessThan(0.01);
      expect(Math.abs(variance - 1)).toBeLessThan(0.015);
    }
    const other = gaussian(length, 4321, 0);
    const straight = gaussian(length, 1234, 0).map((value, i) => 0.5 * value + 0.5 * (other[i] as number));
    expect(moments(straight).variance).toBeLessThan(0.52);
  });

  it('moves away from the seed\'s noise as the strength grows: correlation cos(strength·π/2) for independent noises', () => {
    const own = gaussian(perSample, 5, 0);
    for (const strength of [0.25, 0.5, 0.75]) {
      const varied = new Float32Array(perSample);
      seededNoise([5], { subseed: 6, strength }).initial(varied);
      let dot = 0;
      let ownNorm = 0;
      let variedNorm = 0;
      for (let i = 0; i < perSample; i++) {
        dot += (own[i] as number) * (varied[i] as number);
        ownNorm += (own[i] as number) ** 2;
        variedNorm += (varied[i] as number) ** 2;
      }
      // Ω ≈ π/2 for independent noises, so the weight on the seed is about cos(strength·π/2).
      expect(dot / Math.sqrt(ownNorm * variedNorm)).toBeCloseTo(Math.cos((strength * Math.PI) / 2), 1);
    }
  });

  it('gives a sample the same varied noise whatever batch it runs in', () => {
    const variation = { subseed: 77, strength: 0.3 };
    const batch = new Float32Array(3 * perSample);
    seededNoise([11, 22, 33], variation).step(batch, 5);
    const alone = new Float32Array(perSample);
    seededNoise([22], variation).step(alone, 5);
    expect(batch.subarray(perSample, 2 * perSample)).toEqual(alone);
  });

  it('refuses to interpolate noises of different lengths', () => {
    expect(() => slerpInto(new Float32Array(4), new Float32Array(5), 0.5)).toThrow(/4 values toward noise of 5/);
  });
});

describe('variation settings of a request', () => {
  it('counts as a variation only with a subseed and a strength above 0', () => {
    expect(variationOf({})).toBeNull();
    expect(variationOf({ subseed: 3 })).toBeNull();
    expect(variationOf({ subseed: 3, subseedStrength: 0 })).toBeNull();
    expect(variationOf({ subseed: 3, subseedStrength: 0.25 })).toEqual({ subseed: 3, strength: 0.25 });
  });

  it('says what to do when a strength comes without a subseed', () => {
    expect(variationProblem({ subseedStrength: 0.4 })).toMatch(/strength of 0.4 needs a variation seed \(subseed\).*set one, or set the strength to 0/);
    expect(variationProblem({ subseedStrength: 0 })).toBeNull();
    expect(variationProblem({ subseed: 1, subseedStrength: 1 })).toBeNull();
  });
});
