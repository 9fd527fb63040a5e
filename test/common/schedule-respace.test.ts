import { describe, expect, it } from 'vitest';
import { spaceTimesteps, spacedDiffusion } from '../../common/diffusion/respace';
import { betasForSchedule, diffusionCoefficients } from '../../common/diffusion/schedule';

describe('noise schedules', () => {
  it('linear runs from 1e-4 to 0.02 over T = 1000, leaving ᾱ_T ≈ 4.04e-5', () => {
    const betas = betasForSchedule('linear', 1000);
    expect(betas[0]).toBe(1e-4);
    expect(betas[999]).toBe(0.02);
    expect(diffusionCoefficients(betas).alphasCumprod[999]).toBeCloseTo(4.036e-5, 7);
  });

  it('cosine clips the last β at 0.999 and starts near zero', () => {
    const betas = betasForSchedule('cosine', 1000);
    expect(betas[999]).toBe(0.999);
    expect(betas[0]).toBeGreaterThan(0);
    expect(betas[0]).toBeLessThan(1e-4);
  });

  it('fixes log β̃ at t = 0 with β̃₁', () => {
    const coefficients = diffusionCoefficients(betasForSchedule('linear', 1000));
    expect(coefficients.posteriorVariance[0]).toBe(0);
    expect(coefficients.posteriorLogVarianceClipped[0]).toBe(Math.log(coefficients.posteriorVariance[1] as number));
  });
});

describe('timestep respacing', () => {
  it('"ddim25" keeps 0, 40, …, 960', () => {
    expect(spaceTimesteps(1000, 'ddim25')).toEqual(Array.from({ length: 25 }, (_, i) => i * 40));
  });

  it('"250" keeps 0, 4, …, 995, 999 with rounded fractional strides', () => {
    const kept = spaceTimesteps(1000, '250');
    expect(kept).toHaveLength(250);
    expect(kept.slice(0, 3)).toEqual([0, 4, 8]);
    expect(kept.slice(-2)).toEqual([995, 999]);
  });

  it('splits T into sections for "a,b,c"', () => {
    // Sections of 334, 333 and 333 steps starting at 0, 334 and 667.
    const kept = spaceTimesteps(1000, '2,3,1');
    expect(kept).toEqual([0, 333, 334, 500, 666, 667]);
  });

  it('keeps every step for "T" and gives back the original process', () => {
    const spaced = spacedDiffusion('linear', 1000, '1000');
    const base = diffusionCoefficients(betasForSchedule('linear', 1000));
    expect(spaced.timestepMap[999]).toBe(999);
    expect(spaced.alphasCumprod[500]).toBeCloseTo(base.alphasCumprod[500] as number, 12);
  });

  it('keeps ᾱ at the kept steps', () => {
    const spaced = spacedDiffusion('cosine', 1000, 'ddim50');
    const base = diffusionCoefficients(betasForSchedule('cosine', 1000));
    spaced.timestepMap.forEach((original, index) => {
      expect(spaced.alphasCumprod[index]).toBeCloseTo(base.alphasCumprod[original] as number, 12);
    });
  });

  it.each([
    ['0', /between 1 and 1000|at least one step/],
    ['1001', /more than the 1000/],
    ['ddim0', /between 1 and 1000/],
    ['ddim999', /no integer stride/],
    ['fast', /neither "ddimN" nor/],
  ])('rejects "%s" with a sentence saying what to use', (spec, message) => {
    expect(() => spaceTimesteps(1000, spec)).toThrow(message);
    expect(() => spaceTimesteps(1000, spec)).toThrow(/Use a count from 1 to 1000/);
  });
});
