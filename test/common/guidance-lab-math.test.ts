/**
 * The guidance lab's math on Gaussian data x₀ ~ N(m, s²), whose ideal denoiser is known in closed
 * form (E[ε|xₜ] = √(1−ᾱₜ)(xₜ − √ᾱₜm)/(ᾱₜs² + 1 − ᾱₜ)): DPM-Solver++(2M) against the exact
 * probability-flow ODE, classifier-free guidance between class means, and guidance schedules.
 */
import { describe, expect, it } from 'vitest';
import { classifierFreeDenoiser } from '../../common/diffusion/classifier-free';
import { ddimSample } from '../../common/diffusion/ddim';
import { dpmSolverPlusPlus2mSample } from '../../common/diffusion/dpm-solver';
import { checkGuidanceSchedule, intervalFromSigmas, scaleAt, type GuidanceSchedule } from '../../common/diffusion/guidance-schedule';
import { spacedDiffusion } from '../../common/diffusion/respace';
import { seededNoise } from '../../common/diffusion/rng';
import type { BatchShape, DenoiseFn, DenoiseWithLabelsFn, Guidance, Sampler, SamplerInput } from '../../common/diffusion/sampler';
import { samplers } from '../../common/diffusion/samplers';
import { betasForSchedule, diffusionCoefficients, type NoiseScheduleName } from '../../common/diffusion/schedule';

const dataStd = 0.5;
const shape: BatchShape = { batch: 2, channels: 1, height: 1, width: 2048 };
const perSample = shape.width;
const seeds = [31, 32];

/** The exact ε of Gaussian data with mean `means[b]` for sample b, [B, outputChannels, 1, W] (v = `v[b]` when 2). */
function gaussianEps(schedule: NoiseScheduleName, means: readonly number[], outputChannels: 1 | 2 = 1, v: readonly number[] = []): DenoiseFn {
  const base = diffusionCoefficients(betasForSchedule(schedule, 1000));
  return async (xt, t) => {
    const alphaBar = base.alphasCumprod[t] as number;
    const scale = Math.sqrt(1 - alphaBar) / (alphaBar * dataStd ** 2 + 1 - alphaBar);
    const batch = xt.length / perSample;
    const out = new Float32Array(xt.length * outputChannels);
    for (let b = 0; b < batch; b++) {
      for (let k = 0; k < perSample; k++) {
        out[b * perSample * outputChannels + k] = scale * ((xt[b * perSample + k] as number) - Math.sqrt(alphaBar) * (means[b] as number));
        if (outputChannels === 2) out[b * perSample * 2 + perSample + k] = v[b] as number;
      }
    }
    return out;
  };
}

/** The class-conditional Gaussian model: class c has mean classMeans[c]; the null class has nullMean. */
function gaussianWithLabels(schedule: NoiseScheduleName, classMeans: readonly number[], nullClass: number, nullMean: number, calls: number[] = [], v?: (label: number) => number): DenoiseWithLabelsFn {
  return async (xt, t, labels) => {
    calls.push(labels.length);
    const means = labels.map((label) => (label === nullClass ? nullMean : (classMeans[label] as number)));
    return gaussianEps(schedule, means, v === undefined ? 1 : 2, labels.map((label) => (v === undefined ? 0 : v(label))))(xt, t);
  };
}

async function run(sampler: Sampler, input: Partial<SamplerInput> & { schedule?: NoiseScheduleName; steps: string }): Promise<{ start: Float32Array; final: Float32Array }> {
  const { steps, schedule = 'cosine', ...rest } = input;
  const noise = seededNoise(seeds);
  const start = new Float32Array(shape.batch * perSample);
  noise.initial(start);
  let final: Float32Array | null = null;
  for await (const step of sampler({
    diffusion: spacedDiffusion(schedule, 1000, steps),
    shape,
    denoise: gaussianEps(schedule, [0.3, 0.3]),
    variance: 'fixed-small',
    guidance: null,
    clipDenoised: false,
    eta: 0,
    noise,
    ...rest,
  })) {
    final = Float32Array.from(step.xt);
  }
  if (final === null) throw new Error('the sampler yielded no step');
  return { start, final };
}

/**
 * What the exact solver gives: the probability-flow ODE keeps (x − √ᾱm)/√(ᾱs² + 1 − ᾱ), so it
 * carries x from the first kept timestep to the smallest one exactly; the last step is x̂₀ = E[x₀|x] there.
 */
function exactOdeSample(schedule: NoiseScheduleName, steps: string, start: Float32Array, mean: number): Float32Array {
  const diffusion = spacedDiffusion(schedule, 1000, steps);
  const first = diffusion.alphasCumprod[diffusion.betas.length - 1] as number;
  const last = diffusion.alphasCumprod[0] as number;
  const variance = (alphaBar: number): number => alphaBar * dataStd ** 2 + 1 - alphaBar;
  return start.map((x) => {
    const standardised = (x - Math.sqrt(first) * mean) / Math.sqrt(variance(first));
    const atLast = Math.sqrt(last) * mean + Math.sqrt(variance(last)) * standardised;
    return mean + (Math.sqrt(last) * dataStd ** 2 * (atLast - Math.sqrt(last) * mean)) / variance(last);
  });
}

function maxAbsDifference(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs((a[i] as number) - (b[i] as number)));
  return worst;
}

function meanOf(values: Float32Array, sample: number): number {
  let sum = 0;
  for (let i = sample * perSample; i < (sample + 1) * perSample; i++) sum += values[i] as number;
  return sum / perSample;
}

describe('DPM-Solver++(2M) on Gaussian data', () => {
  it('is registered as dpmpp2m', () => {
    expect(samplers.dpmpp2m).toBe(dpmSolverPlusPlus2mSample);
  });

  it.each([
    ['cosine', 'ddim20', 0.01],
    ['cosine', '15', 0.04],
    ['cosine', 'ddim100', 0.002],
    // The linear schedule's time-uniform steps leave one large λ jump onto t = 0, taken at first order.
    ['linear', 'ddim100', 0.01],
  ] as const)('follows the exact ODE on the %s schedule with %s steps, closer than DDIM', async (schedule, steps, bound) => {
    const denoise = gaussianEps(schedule, [0.3, 0.3]);
    const solver = await run(dpmSolverPlusPlus2mSample, { schedule, steps, denoise });
    const ddim = await run(ddimSample, { schedule, steps, denoise });
    const exact = exactOdeSample(schedule, steps, solver.start, 0.3);
    const solverError = maxAbsDifference(solver.final, exact);
    expect(solverError).toBeLessThan(bound);
    // Second order: at least twice as close as DDIM (first order) with the same steps.
    expect(solverError).toBeLessThan(maxAbsDifference(ddim.final, exact) / 2);
  });

  it('with classifier guidance through the score moves samples towards the class', async () => {
    // log p(y|x) = −(x − 1)²/2 per element pulls every value towards 1.
    const guidance: Guidance = { scale: 2, gradient: async (xt) => ({ grad: xt.map((x) => 1 - x), classProbability: new Float32Array(shape.batch).fill(0.5) }) };
    const plain = await run(dpmSolverPlusPlus2mSample, { steps: 'ddim20' });
    const guided = await run(dpmSolverPlusPlus2mSample, { steps: 'ddim20', guidance });
    expect(meanOf(guided.final, 0)).toBeGreaterThan(meanOf(plain.final, 0) + 0.1);
  });

  it('clips x̂₀ to [−1, 1] when asked', async () => {
    const { final } = await run(dpmSolverPlusPlus2mSample, { steps: 'ddim10', denoise: gaussianEps('cosine', [3, 3]), clipDenoised: true });
    expect(Math.max(...final)).toBeLessThanOrEqual(1);
    expect(Math.min(...final)).toBeGreaterThanOrEqual(-1);
  });
});

describe('classifier-free guidance', () => {
  const classMeans = [0.6, -0.4];
  const nullClass = 2;
  const nullMean = 0.1;
  const labels = [0, 1];

  it('with w = 1 gives exactly the conditional model and with w = 0 exactly the unconditional one (doubled batch)', async () => {
    const withLabels = gaussianWithLabels('cosine', classMeans, nullClass, nullMean);
    for (const [weight, means] of [[1, [0.6, -0.4]], [0, [nullMean, nullMean]]] as const) {
      const guided = classifierFreeDenoiser({ denoise: withLabels, labels, nullClass, weight, shape, learnedSigma: false });
      const { final } = await run(dpmSolverPlusPlus2mSample, { steps: 'ddim20', denoise: guided });
      const { final: reference } = await run(dpmSolverPlusPlus2mSample, { steps: 'ddim20', denoise: gaussianEps('cosine', means) });
      expect(final).toEqual(reference);
    }
  });

  it('with w = 3 samples the Gaussian whose mean is m∅ + 3·(m_y − m∅), since ε is linear in the mean', async () => {
    const weight = 3;
    const guided = classifierFreeDenoiser({ denoise: gaussianWithLabels('cosine', classMeans, nullClass, nullMean), labels, nullClass, weight, shape, learnedSigma: false });
    const extrapolated = labels.map((label) => nullMean + weight * ((classMeans[label] as number) - nullMean));
    const { final } = await run(dpmSolverPlusPlus2mSample, { steps: 'ddim20', denoise: guided });
    const { final: reference } = await run(dpmSolverPlusPlus2mSample, { steps: 'ddim20', denoise: gaussianEps('cosine', extrapolated) });
    expect(maxAbsDifference(final, reference)).toBeLessThan(1e-5);
    expect(meanOf(final, 0)).toBeGreaterThan(1.5);
  });

  it('calls the UNet once per step on the doubled batch, or twice on the plain one; both give the same samples', async () => {
    const doubledCalls: number[] = [];
    const separateCalls: number[] = [];
    const common = { labels, nullClass, weight: 2.5, shape, learnedSigma: false };
    const doubled = await run(dpmSolverPlusPlus2mSample, { steps: 'ddim10', denoise: classifierFreeDenoiser({ ...common, denoise: gaussianWithLabels('cosine', classMeans, nullClass, nullMean, doubledCalls) }) });
    const separate = await run(dpmSolverPlusPlus2mSample, { steps: 'ddim10', denoise: classifierFreeDenoiser({ ...common, batching: 'separate', denoise: gaussianWithLabels('cosine', classMeans, nullClass, nullMean, separateCalls) }) });
    expect(doubledCalls).toEqual(Array.from({ length: 10 }, () => 4));
    expect(separateCalls).toEqual(Array.from({ length: 20 }, () => 2));
    expect(doubled.final).toEqual(separate.final);
  });

  it('takes the variance channels from the conditional half', async () => {
    const guided = classifierFreeDenoiser({
      denoise: gaussianWithLabels('cosine', classMeans, nullClass, nullMean, [], (label) => (label === nullClass ? -1 : 0.5)),
      labels,
      nullClass,
      weight: 2,
      shape,
      learnedSigma: true,
    });
    const out = await guided(new Float32Array(shape.batch * perSample).fill(0.2), 500);
    expect(out).toHaveLength(shape.batch * perSample * 2);
    for (let b = 0; b < shape.batch; b++) expect([...out.subarray(b * 2 * perSample + perSample, (b + 1) * 2 * perSample)].every((v) => v === 0.5)).toBe(true);
  });

  it('refuses labels that do not match the batch, a weight that is not a number, and a UNet answer of the wrong size', async () => {
    const denoise = gaussianWithLabels('cosine', classMeans, nullClass, nullMean);
    expect(() => classifierFreeDenoiser({ denoise, labels: [0], nullClass, weight: 2, shape, learnedSigma: false })).toThrow(/got 1 labels for a batch of 2/);
    expect(() => classifierFreeDenoiser({ denoise, labels, nullClass, weight: Number.NaN, shape, learnedSigma: false })).toThrow(/must be a finite number/);
    const short = classifierFreeDenoiser({ denoise: async () => new Float32Array(3), labels, nullClass, weight: 2, shape, learnedSigma: false });
    await expect(short(new Float32Array(shape.batch * perSample), 10)).rejects.toThrow(/returned 3 values for the doubled batch .* but 8192 were expected/);
  });
});

describe('guidance schedules', () => {
  /** A classifier that records the timesteps it is asked about. */
  function countingGuidance(schedule: GuidanceSchedule, asked: number[]): Guidance {
    return { scale: 2, schedule, gradient: async (xt, t) => { asked.push(t); return { grad: xt.map((x) => 1 - x), classProbability: new Float32Array(shape.batch).fill(0.5) }; } };
  }

  it.each(['ddpm', 'ddim', 'dpmpp2m'] as const)('%s runs the classifier only inside the interval', async (name) => {
    const asked: number[] = [];
    const steps = 'ddim20';
    await run(samplers[name], { steps, guidance: countingGuidance({ kind: 'interval', tLo: 200, tHi: 600 }, asked) });
    const kept = [...spacedDiffusion('cosine', 1000, steps).timestepMap].reverse();
    expect(asked).toEqual(kept.filter((t) => t >= 200 && t <= 600));
    expect(asked).toHaveLength(9);
  });

  it('skips the classifier where a ramp reaches 0 and scales it in between', async () => {
    const ramp: GuidanceSchedule = { kind: 'ramp', from: 1, to: 0 };
    expect(scaleAt(ramp, 4, 999, 1000)).toBe(4);
    expect(scaleAt(ramp, 4, 0, 1000)).toBe(0);
    expect(scaleAt(ramp, 4, 333, 1000)).toBeCloseTo(4 / 3, 12);
    const asked: number[] = [];
    await run(ddimSample, { steps: 'ddim10', guidance: countingGuidance(ramp, asked) });
    expect(asked).toEqual([900, 800, 700, 600, 500, 400, 300, 200, 100]);
  });

  it('an interval covering every step gives exactly the constant schedule', async () => {
    const gradient: Guidance['gradient'] = async (xt) => ({ grad: xt.map((x) => 1 - x), classProbability: new Float32Array(shape.batch).fill(0.5) });
    const constant = await run(dpmSolverPlusPlus2mSample, { steps: 'ddim20', guidance: { scale: 2, gradient } });
    const everywhere = await run(dpmSolverPlusPlus2mSample, { steps: 'ddim20', guidance: { scale: 2, gradient, schedule: { kind: 'interval', tLo: 0, tHi: 999 } } });
    const nowhere = await run(dpmSolverPlusPlus2mSample, { steps: 'ddim20', guidance: { scale: 2, gradient, schedule: { kind: 'interval', tLo: 0, tHi: 0 } } });
    const unguided = await run(dpmSolverPlusPlus2mSample, { steps: 'ddim20' });
    expect(everywhere.final).toEqual(constant.final);
    // ddim20 keeps t = 0, 50, …, 950: the interval [0, 0] guides only the last step.
    expect(maxAbsDifference(nowhere.final, unguided.final)).toBeGreaterThan(0);
    expect(maxAbsDifference(nowhere.final, unguided.final)).toBeLessThan(maxAbsDifference(constant.final, unguided.final));
  });

  it('converts the interval paper’s σ bounds to timesteps', () => {
    const base = diffusionCoefficients(betasForSchedule('cosine', 1000));
    const schedule = intervalFromSigmas(base, 0.28, 5.42);
    if (schedule.kind !== 'interval') throw new Error('an interval was expected');
    const sigma = (t: number): number => Math.sqrt((1 - (base.alphasCumprod[t] as number)) / (base.alphasCumprod[t] as number));
    expect(sigma(schedule.tLo)).toBeGreaterThanOrEqual(0.28);
    expect(sigma(schedule.tLo - 1)).toBeLessThan(0.28);
    expect(sigma(schedule.tHi)).toBeLessThanOrEqual(5.42);
    expect(sigma(schedule.tHi + 1)).toBeGreaterThan(5.42);
    expect(() => intervalFromSigmas(base, 1e6, 2e6)).toThrow(/No timestep of this model has σ between 1000000 and 2000000 .* Widen the interval/);
  });

  it('refuses an interval outside the model’s timesteps or upside down, and a ramp that is not finite', () => {
    expect(() => checkGuidanceSchedule({ kind: 'interval', tLo: 600, tHi: 200 }, 1000)).toThrow(/0 ≤ tLo ≤ tHi ≤ 999, got \[600, 200\]/);
    expect(() => checkGuidanceSchedule({ kind: 'interval', tLo: 0, tHi: 1000 }, 1000)).toThrow(/inside the model's 1000 timesteps/);
    expect(() => checkGuidanceSchedule({ kind: 'interval', tLo: 0.5, tHi: 10 }, 1000)).toThrow(/whole timesteps/);
    expect(() => checkGuidanceSchedule({ kind: 'ramp', from: Number.POSITIVE_INFINITY, to: 0 }, 1000)).toThrow(/finite factors/);
    expect(checkGuidanceSchedule({ kind: 'interval', tLo: 0, tHi: 999 }, 1000)).toEqual({ kind: 'interval', tLo: 0, tHi: 999 });
  });
});

describe('a run at scale 0', () => {
  it('still asks the classifier for p(y|xₜ) at every step, the sample’s confidence, and is not steered', async () => {
    const asked: number[] = [];
    const guidance: Guidance = { scale: 0, gradient: async (xt, t) => { asked.push(t); return { grad: xt.map((x) => 1 - x), classProbability: new Float32Array(shape.batch).fill(0.5) }; } };
    const guided = await run(dpmSolverPlusPlus2mSample, { steps: 'ddim10', guidance });
    const plain = await run(dpmSolverPlusPlus2mSample, { steps: 'ddim10' });
    expect(asked).toHaveLength(10);
    expect(guided.final).toEqual(plain.final);
  });
});
