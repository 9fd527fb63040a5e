/**
 * For data x₀ ~ N(m, s²) per element, xₜ = √ᾱₜx₀ + √(1−ᾱₜ)ε is Gaussian too and the ideal
 * denoiser is known in closed form: E[ε|xₜ] = √(1−ᾱₜ)(xₜ − √ᾱₜm)/(ᾱₜs² + 1 − ᾱₜ).
 * A sampler fed that denoiser must return samples with mean m and variance s².
 */
import { describe, expect, it } from 'vitest';
import { ddimSample } from '../../common/diffusion/ddim';
import { ddpmSample } from '../../common/diffusion/ddpm';
import { dpmSolverPlusPlus2mSample } from '../../common/diffusion/dpm-solver';
import { spacedDiffusion } from '../../common/diffusion/respace';
import { seededNoise } from '../../common/diffusion/rng';
import type { BatchShape, DenoiseFn, Guidance, Sampler, SamplerInput, VarianceType } from '../../common/diffusion/sampler';
import { betasForSchedule, diffusionCoefficients } from '../../common/diffusion/schedule';

const dataMean = 0.3;
const dataStd = 0.5;
const base = diffusionCoefficients(betasForSchedule('linear', 1000));

function exactDenoiser(outputChannels: 1 | 2, v = -1): DenoiseFn {
  return async (xt, t) => {
    const alphaBar = base.alphasCumprod[t] as number;
    const scale = Math.sqrt(1 - alphaBar) / (alphaBar * dataStd ** 2 + 1 - alphaBar);
    const out = new Float32Array(xt.length * outputChannels);
    // Shape [B, 1, 1, W]: with one channel the ε block of sample b is at b·outputChannels·W.
    const width = xt.length / batch;
    for (let b = 0; b < batch; b++) {
      for (let k = 0; k < width; k++) {
        out[b * width * outputChannels + k] = scale * ((xt[b * width + k] as number) - Math.sqrt(alphaBar) * dataMean);
        if (outputChannels === 2) out[b * width * 2 + width + k] = v;
      }
    }
    return out;
  };
}

const batch = 8;
const shape: BatchShape = { batch, channels: 1, height: 1, width: 1024 };
const seeds = Array.from({ length: batch }, (_, i) => 1000 + i);

async function finalSample(sampler: Sampler, input: Partial<SamplerInput> & { steps: string }): Promise<Float32Array> {
  let last: Float32Array | null = null;
  const { steps, ...rest } = input;
  for await (const step of sampler({
    diffusion: spacedDiffusion('linear', 1000, steps),
    shape,
    denoise: exactDenoiser(1),
    variance: 'fixed-small' as VarianceType,
    guidance: null,
    clipDenoised: false,
    eta: 0,
    noise: seededNoise(seeds),
    ...rest,
  })) {
    last = step.xt;
  }
  if (last === null) throw new Error('the sampler yielded no step');
  return Float32Array.from(last);
}

function moments(values: Float32Array): { mean: number; variance: number } {
  const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
  const variance = values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / values.length;
  return { mean, variance };
}

describe('samplers with the exact denoiser of Gaussian data', () => {
  it.each([
    ['DDPM, 1000 steps, fixed small variance', ddpmSample, { steps: '1000' }],
    ['DDPM, 1000 steps, fixed large variance', ddpmSample, { steps: '1000', variance: 'fixed-large' as VarianceType }],
    ['DDPM, 250 respaced steps', ddpmSample, { steps: '250' }],
    ['DDIM, 250 steps, η = 0', ddimSample, { steps: 'ddim250' }],
    ['DDIM, 250 steps, η = 1', ddimSample, { steps: 'ddim250', eta: 1 }],
    ['DPM-Solver++(2M), 100 steps', dpmSolverPlusPlus2mSample, { steps: 'ddim100' }],
  ] as const)('%s gives mean m and variance s²', async (_name, sampler, options) => {
    const { mean, variance } = moments(await finalSample(sampler, options));
    // 8192 samples: the standard error of the mean is 0.0055 and of the variance about 0.004;
    // coarse respacing with β̃ₜ (fixed small) adds a known small variance deficit.
    expect(Math.abs(mean - dataMean)).toBeLessThan(0.025);
    expect(Math.abs(variance - dataStd ** 2)).toBeLessThan(0.02);
  });

  it('reads learned variance v = −1 as β̃ₜ and v = +1 as βₜ', async () => {
    const small = await finalSample(ddpmSample, { steps: '100' });
    const learnedSmall = await finalSample(ddpmSample, { steps: '100', variance: 'learned-range', denoise: exactDenoiser(2, -1) });
    expect(maxAbsDifference(learnedSmall, small)).toBeLessThan(1e-5);
    const large = await finalSample(ddpmSample, { steps: '100', variance: 'fixed-large' });
    const learnedLarge = await finalSample(ddpmSample, { steps: '100', variance: 'learned-range', denoise: exactDenoiser(2, 1) });
    // Fixed large uses β̃₁ at t = 0 where the learned range's top is β₀, so compare before the last step's variance matters: means agree closely.
    expect(moments(learnedLarge).mean).toBeCloseTo(moments(large).mean, 2);
  });

  it('moves samples towards a class under guidance (DDPM, DDIM and DPM-Solver++)', async () => {
    // log p(y|x) = −(x − 1)²/2 per element pulls every value towards 1.
    const guidance: Guidance = {
      scale: 2,
      gradient: async (xt) => ({ grad: xt.map((x) => 1 - x), classProbability: new Float32Array(batch).fill(0.5) }),
    };
    for (const [sampler, steps] of [[ddpmSample, '100'], [ddimSample, 'ddim50'], [dpmSolverPlusPlus2mSample, 'ddim20']] as const) {
      const plain = moments(await finalSample(sampler, { steps }));
      const guided = moments(await finalSample(sampler, { steps, guidance }));
      expect(guided.mean).toBeGreaterThan(plain.mean + 0.1);
    }
  });

  it('gives sample k of a batch exactly what its seed gives alone', async () => {
    const wholeBatch = await finalSample(ddpmSample, { steps: '50' });
    const aloneShape: BatchShape = { ...shape, batch: 1 };
    let alone: Float32Array | null = null;
    for await (const step of ddpmSample({
      diffusion: spacedDiffusion('linear', 1000, '50'),
      shape: aloneShape,
      denoise: async (xt, t) => {
        const alphaBar = base.alphasCumprod[t] as number;
        const scale = Math.sqrt(1 - alphaBar) / (alphaBar * dataStd ** 2 + 1 - alphaBar);
        return xt.map((x) => scale * (x - Math.sqrt(alphaBar) * dataMean));
      },
      variance: 'fixed-small',
      guidance: null,
      clipDenoised: false,
      eta: 0,
      noise: seededNoise([seeds[3] as number]),
    })) {
      alone = step.xt;
    }
    expect(alone).toEqual(wholeBatch.subarray(3 * 1024, 4 * 1024));
  });

  it('stops at once when the signal is aborted', async () => {
    const controller = new AbortController();
    let steps = 0;
    await expect(async () => {
      for await (const step of ddimSample({
        diffusion: spacedDiffusion('linear', 1000, 'ddim50'),
        shape,
        denoise: exactDenoiser(1),
        variance: 'fixed-small',
        guidance: null,
        clipDenoised: true,
        eta: 0,
        noise: seededNoise(seeds),
        signal: controller.signal,
      })) {
        steps = step.step + 1;
        if (step.step === 4) controller.abort();
      }
    }).rejects.toThrow();
    expect(steps).toBe(5);
  });

  it('says at which step x became NaN', async () => {
    const denoise: DenoiseFn = async (xt, t) => (t < 500 ? new Float32Array(xt.length).fill(Number.NaN) : new Float32Array(xt.length));
    await expect(async () => {
      for await (const _ of ddimSample({
        diffusion: spacedDiffusion('linear', 1000, 'ddim10'),
        shape,
        denoise,
        variance: 'fixed-small',
        guidance: null,
        clipDenoised: false,
        eta: 0,
        noise: seededNoise(seeds),
      })) {
        // drain
      }
    }).rejects.toThrow(/NaN or infinite at step 6 \(timestep 400\)/);
  });
});

function maxAbsDifference(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs((a[i] as number) - (b[i] as number)));
  return worst;
}
