/**
 * The sampler arithmetic of one reverse step as ONNX graphs on the model's provider (the .onnx
 * files of step-graph-files.ts): each step's coefficients are computed here in float64 from the
 * respaced process, and the graph turns xₜ, the UNet output, the classifier gradient and the
 * noise into x_{t−1} and x̂₀ without those leaving the provider.
 */
import { readFile } from 'node:fs/promises';
import type { SpacedDiffusion } from '../../common/diffusion/respace';
import type { VarianceType } from '../../common/diffusion/sampler';
import { readBackGraphFile, sourceStepGraphsDir, stepGraphFile, type StepGraphArithmetic, type StepGraphName } from './step-graph-files';
import { openGraphOn, ort, runChecked, type ConcreteProvider } from './sessions';

/** The DDIM step's scalar inputs (ddimStep.onnx). */
export interface DdimStepCoefficients {
  sqrtRecipAlphaBar: number;
  sqrtRecipm1AlphaBar: number;
  clipBound: number;
  /** √(1/ᾱₜ−1)·√(1−ᾱₜ)·s: condition_score written as x̂₀' = x̂₀ + scoreShift·∇ₓ log p(y|xₜ). */
  scoreShift: number;
  sqrtAlphaBarPrev: number;
  directionWeight: number;
  /** σₜ, 0 at the last step (t = 0). */
  noiseWeight: number;
}

/** The DDPM step's scalar inputs (ddpmStepLearnedRange.onnx, or ddpmStepFixedVariance.onnx with logVariance). */
export interface DdpmStepCoefficients {
  sqrtRecipAlphaBar: number;
  sqrtRecipm1AlphaBar: number;
  clipBound: number;
  posteriorMeanCoef1: number;
  posteriorMeanCoef2: number;
  /** s of condition_mean, μ' = μ + σ²·s·∇ₓ log p(y|xₜ). */
  gradientScale: number;
  /** 1, or 0 at the last step (t = 0). */
  noiseWeight: number;
  minLogVariance: number;
  maxLogVariance: number;
  logVariance: number;
}

function clipBound(clipDenoised: boolean): number {
  return clipDenoised ? 1 : Infinity;
}

/** The coefficients of DDIM step at respaced index `index` with guidance scale `scale` (0 when unguided). */
export function ddimStepCoefficients(diffusion: SpacedDiffusion, index: number, eta: number, clipDenoised: boolean, scale: number): DdimStepCoefficients {
  const alphaBar = diffusion.alphasCumprod[index] as number;
  const alphaBarPrev = diffusion.alphasCumprodPrev[index] as number;
  const sqrtRecipm1AlphaBar = diffusion.sqrtRecipm1AlphasCumprod[index] as number;
  // σₜ = η·√((1−ᾱₜ₋₁)/(1−ᾱₜ))·√(1−ᾱₜ/ᾱₜ₋₁)
  const sigma = eta * Math.sqrt((1 - alphaBarPrev) / (1 - alphaBar)) * Math.sqrt(1 - alphaBar / alphaBarPrev);
  return {
    sqrtRecipAlphaBar: diffusion.sqrtRecipAlphasCumprod[index] as number,
    sqrtRecipm1AlphaBar,
    clipBound: clipBound(clipDenoised),
    scoreShift: sqrtRecipm1AlphaBar * Math.sqrt(1 - alphaBar) * scale,
    sqrtAlphaBarPrev: Math.sqrt(alphaBarPrev),
    directionWeight: Math.sqrt(1 - alphaBarPrev - sigma * sigma),
    noiseWeight: index > 0 ? sigma : 0,
  };
}

/** The coefficients of the DDPM step at respaced index `index`. */
export function ddpmStepCoefficients(diffusion: SpacedDiffusion, index: number, variance: VarianceType, clipDenoised: boolean, scale: number): DdpmStepCoefficients {
  const minLogVariance = diffusion.posteriorLogVarianceClipped[index] as number;
  return {
    sqrtRecipAlphaBar: diffusion.sqrtRecipAlphasCumprod[index] as number,
    sqrtRecipm1AlphaBar: diffusion.sqrtRecipm1AlphasCumprod[index] as number,
    clipBound: clipBound(clipDenoised),
    posteriorMeanCoef1: diffusion.posteriorMeanCoef1[index] as number,
    posteriorMeanCoef2: diffusion.posteriorMeanCoef2[index] as number,
    gradientScale: scale,
    noiseWeight: index > 0 ? 1 : 0,
    minLogVariance,
    maxLogVariance: diffusion.logBetas[index] as number,
    logVariance: variance === 'fixed-large' ? (diffusion.fixedLargeLogVariance[index] as number) : minLogVariance,
  };
}

export type StepSampler = 'ddim' | 'ddpm';

/** Which step graph a sampler and variance type run. */
export function stepGraphFor(sampler: StepSampler, variance: VarianceType): StepGraphName {
  if (sampler === 'ddim') return 'ddimStep';
  return variance === 'learned-range' ? 'ddpmStepLearnedRange' : 'ddpmStepFixedVariance';
}

/** The tensors of one step; any of them may live on the provider. */
export interface StepTensors {
  x: ort.Tensor;
  modelOutput: ort.Tensor;
  grad: ort.Tensor;
  noise: ort.Tensor;
}

/** What a step graph gives: x_{t−1} and x̂₀ where the provider keeps them, the two small checks on the CPU. */
export interface StepOutputs {
  xNext: ort.Tensor;
  predX0: ort.Tensor;
  /** ‖∇ₓ log p(y|xₜ)‖₂ per sample. */
  gradNorm: Float32Array;
  /** Per sample: 0 when every element of x_{t−1} is finite, NaN otherwise. */
  finiteness: Float32Array;
}

/**
 * Where outputs can stay between runs: onnxruntime-node keeps an output on the device only for
 * WebGPU ('gpu-buffer'; its CUDA and DirectML sessions always copy outputs to the CPU). The CPU
 * asks for 'gpu-buffer' too, so the I/O-binding run path is the one that runs there; its outputs
 * come back as CPU tensors.
 */
export function chainedOutputLocation(provider: ConcreteProvider): 'cpu' | 'gpu-buffer' {
  return provider === 'webgpu' || provider === 'cpu' ? 'gpu-buffer' : 'cpu';
}

/** WebGPU has no float64 kernels; every other provider runs the float64 step graphs. */
export function stepArithmeticOn(provider: ConcreteProvider): StepGraphArithmetic {
  return provider === 'webgpu' ? 'float32' : 'float64';
}

function float32Data(tensor: ort.Tensor | undefined, name: string, label: string): Float32Array {
  if (tensor === undefined || tensor.location !== 'cpu' || !(tensor.data instanceof Float32Array)) {
    throw new Error(`The ${label} graph did not return "${name}" as float32 values on the CPU.`);
  }
  return tensor.data;
}

async function readGraph(file: string, label: string): Promise<Uint8Array> {
  try {
    return await readFile(file);
  } catch (error) {
    throw new Error(`The studio's ${label} graph is missing (${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}). Reinstall the studio, or run python -m studio_tools step-graphs in a checkout.`, { cause: error });
  }
}

/** One step graph and the read-back graph, open on one provider. */
export class DeviceStepGraph {
  private constructor(
    readonly name: StepGraphName,
    readonly provider: ConcreteProvider,
    private readonly step: ort.InferenceSession,
    private readonly readBack: ort.InferenceSession,
  ) {}

  static async open(name: StepGraphName, provider: ConcreteProvider, threads: number, arithmetic = stepArithmeticOn(provider), dir = sourceStepGraphsDir()): Promise<DeviceStepGraph> {
    const file = stepGraphFile(dir, name, arithmetic);
    const step = await openGraphOn(await readGraph(file, name), `studio's ${name}`, provider, threads, chainedOutputLocation(provider));
    const readBack = await openGraphOn(await readGraph(readBackGraphFile(dir), 'readBack'), "studio's readBack", provider, threads, 'cpu');
    return new DeviceStepGraph(name, provider, step, readBack);
  }

  /** Runs the step; the coefficients travel as scalars of the graph's arithmetic type. */
  async run(tensors: StepTensors, coefficients: DdimStepCoefficients | DdpmStepCoefficients): Promise<StepOutputs> {
    const feeds: Record<string, ort.Tensor> = { x: tensors.x, modelOutput: tensors.modelOutput, grad: tensors.grad, noise: tensors.noise };
    const scalars = new Map(this.step.inputMetadata.filter((input) => input.isTensor && input.shape.length === 0).map((input) => [input.name, input.isTensor ? input.type : 'float32']));
    for (const [name, value] of Object.entries(coefficients)) {
      const type = scalars.get(name);
      if (type === 'float64') feeds[name] = new ort.Tensor('float64', new Float64Array([value as number]), []);
      else if (type !== undefined) feeds[name] = new ort.Tensor('float32', new Float32Array([value as number]), []);
    }
    const outputs = await runChecked(this.step, this.name, feeds);
    const { xNext, predX0 } = outputs;
    if (xNext === undefined || predX0 === undefined) throw new Error(`The ${this.name} graph did not return xNext and predX0.`);
    return { xNext, predX0, gradNorm: float32Data(outputs.gradNorm, 'gradNorm', this.name), finiteness: float32Data(outputs.finiteness, 'finiteness', this.name) };
  }

  /** The values of an image tensor [B, C, H, W] on the CPU, copied back from the provider when it lives there. */
  async toHost(tensor: ort.Tensor): Promise<Float32Array> {
    if (tensor.location === 'cpu') return float32Data(tensor, 'x', this.name);
    const outputs = await runChecked(this.readBack, 'readBack', { x: tensor });
    return float32Data(outputs.y, 'y', 'readBack');
  }

  async release(): Promise<void> {
    await this.step.release();
    await this.readBack.release();
  }
}
