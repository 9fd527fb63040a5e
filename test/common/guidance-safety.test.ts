/** The DDIM plain-respacing guidance trap: which spacings are flagged, with which sentence and way out. */
import { describe, expect, it } from 'vitest';
import { MINIMUM_GUIDED_ALPHA_BAR, ddimGuidanceRisk, preferredDdimSpacing } from '../../common/diffusion/guidance-safety';
import { betasForSchedule, diffusionCoefficients } from '../../common/diffusion/schedule';

const cosine1000 = { schedule: 'cosine', steps: 1000 } as const;

describe('ddimGuidanceRisk', () => {
  it.each(['50', '25', '10'])('flags plain respacing "%s" on the cosine schedule: it starts at t = 999', (spacing) => {
    const risk = ddimGuidanceRisk(cosine1000, spacing);
    expect(risk).not.toBeNull();
    expect(risk?.t).toBe(999);
    // ᾱ₉₉₉ of the cosine schedule, from its closed form with the β ≤ 0.999 clip.
    const alphaBar = diffusionCoefficients(betasForSchedule('cosine', 1000)).alphasCumprod[999] as number;
    // The respaced product of (1 − βᵢ) rounds differently from the original one in the last digits.
    expect((risk?.alphaBar as number) / alphaBar).toBeCloseTo(1, 8);
    expect(alphaBar).toBeGreaterThan(2.3e-9);
    expect(alphaBar).toBeLessThan(2.5e-9);
    expect((risk?.amplification as number) / Math.sqrt((1 - alphaBar) / alphaBar)).toBeCloseTo(1, 8);
    expect(risk?.message).toBe(`DDIM with plain respacing '${spacing}' starts at t = 999 where ᾱ = 2.4e-9, so classifier guidance is amplified ~20,000× and saturates; use 'ddim${spacing}'.`);
  });

  it.each(['ddim50', 'ddim25', 'ddim10', 'ddim250'])('lets "%s" through', (spacing) => {
    expect(ddimGuidanceRisk(cosine1000, spacing)).toBeNull();
  });

  it('suggests fewer steps when the ddim spacing of the same count also starts at t = 999', () => {
    const risk = ddimGuidanceRisk(cosine1000, 'ddim1000');
    expect(risk?.message).toMatch(/^DDIM with respacing 'ddim1000' starts at t = 999 .* use 'ddim250'\.$/);
    expect(risk?.suggestedSpacing).toBe('ddim250');
    // Halving once is not enough: ddim500 starts at t = 998.
    expect(ddimGuidanceRisk(cosine1000, 'ddim500')?.t).toBe(998);
    expect(ddimGuidanceRisk(cosine1000, 'ddim250')).toBeNull();
  });

  it('leaves the linear schedule alone, whose ᾱ₉₉₉ is 4·10⁻⁵', () => {
    expect(ddimGuidanceRisk({ schedule: 'linear', steps: 1000 }, '50')).toBeNull();
    expect(diffusionCoefficients(betasForSchedule('linear', 1000)).alphasCumprod[999]).toBeGreaterThan(MINIMUM_GUIDED_ALPHA_BAR);
  });

  it('flags DPM-Solver++ only without clipping, which is what cuts its shift back', () => {
    expect(ddimGuidanceRisk(cosine1000, '20', { sampler: 'dpmpp2m' })).toBeNull();
    expect(ddimGuidanceRisk(cosine1000, '20', { sampler: 'dpmpp2m', clipDenoised: false })?.message).toMatch(/^DPM-Solver\+\+\(2M\) with plain respacing '20' starts at t = 999 .* use 'ddim20'\.$/);
  });

  it('answers a spacing the model cannot use with the respacing sentence', () => {
    expect(() => ddimGuidanceRisk(cosine1000, 'fast')).toThrow(/Steps "fast" cannot be used with this model \(T = 1000\)/);
  });
});

describe('preferredDdimSpacing', () => {
  it.each([
    ['50', 'ddim50'],
    [' 25 ', 'ddim25'],
    ['ddim10', 'ddim10'],
    ['10,15,20', 'ddim45'],
    ['fast', 'fast'],
  ])('%s → %s', (steps, preferred) => {
    expect(preferredDdimSpacing(steps)).toBe(preferred);
  });
});
