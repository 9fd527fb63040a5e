/**
 * The device sampling path: DDIM and DDPM with x, the UNet output, the classifier gradient and
 * the step arithmetic on the model's provider. Per step the CPU draws the noise (the same Philox
 * numbers as the host path, uploaded), computes the step's coefficients and reads back only what
 * it reports: p(y|xₜ), ‖∇ₓ log p(y|xₜ)‖ and a per-sample divergence check. x and x̂₀ are copied
 * back only on the steps the caller asks for (previews when due, the last step).
 *
 * onnxruntime-node keeps tensors on the device only for WebGPU, so "auto" takes this path there;
 * on the CPU provider the same code runs with CPU tensors, which is how it is tested.
 */
import type { RunRequest } from '../../common/contract/run-request';
import { scaleAt, type GuidanceSchedule } from '../../common/diffusion/guidance-schedule';
import type { SpacedDiffusion } from '../../common/diffusion/respace';
import { respacedIndex } from '../../common/diffusion/reverse-step';
import type { NoiseSource } from '../../common/diffusion/rng';
import { SamplingDivergedError, elementsOf, type BatchShape, type SamplerStep, type VarianceType } from '../../common/diffusion/sampler';
import { RunRequestError, type RunPlan } from '../../common/models/run-plan';
import { deviceClassifier, deviceUnet, type DeviceClassifierFn, type DeviceDenoiseFn } from './device-networks';
import { DeviceStepGraph, chainedOutputLocation, ddimStepCoefficients, ddpmStepCoefficients, stepGraphFor, type StepSampler } from './device-step-graphs';
import type { LoadedModel } from './loaded-model';
import type { RuntimeTimings } from './networks';
import { openGraphOn, ort, type ConcreteProvider } from './sessions';
import { deviceRefusal, deviceRefusalSentence, devicePathByDefault, type StepPlacement } from './step-placement';

export { deviceRefusal, devicePathByDefault, type StepPlacement } from './step-placement';

export interface DeviceGuidance {
  gradient: DeviceClassifierFn;
  scale: number;
  schedule: GuidanceSchedule;
}

export interface DeviceSamplingInput {
  sampler: StepSampler;
  diffusion: SpacedDiffusion;
  shape: BatchShape;
  variance: VarianceType;
  clipDenoised: boolean;
  eta: number;
  noise: NoiseSource;
  denoise: DeviceDenoiseFn;
  guidance: DeviceGuidance | null;
  graph: DeviceStepGraph;
  /** Whether x and x̂₀ of this step are wanted on the CPU; the last step's always are. */
  hostCopyAt(step: number): boolean;
  /** Polled before every network call. */
  cancelled?: () => boolean;
}

/**
 * One finished step. `xt` and `predX0` are CPU buffers the sampler reuses and refreshes only when
 * `onHost` is true; on other steps they still hold the last copied step.
 */
export interface DeviceSamplerStep extends SamplerStep {
  onHost: boolean;
}

function abortError(): Error {
  const error = new Error('Sampling was cancelled.');
  error.name = 'AbortError';
  return error;
}

/** Frees a tensor the provider holds; CPU tensors are left to the garbage collector. */
function releaseDeviceTensor(tensor: ort.Tensor): void {
  if (tensor.location === 'gpu-buffer') tensor.dispose();
}

export async function* deviceSample(input: DeviceSamplingInput): AsyncGenerator<DeviceSamplerStep, void, void> {
  const { diffusion, shape, noise, guidance, graph } = input;
  if (input.sampler === 'ddim' && !(input.eta >= 0 && input.eta <= 1)) throw new Error(`η must be between 0 and 1, got ${input.eta}.`);
  const dims = [shape.batch, shape.channels, shape.height, shape.width];
  const count = elementsOf(shape);
  const stepCount = diffusion.betas.length;
  const initial = new Float32Array(count);
  noise.initial(initial);
  const zeros = new ort.Tensor('float32', new Float32Array(count), dims);
  const xtHost = new Float32Array(count);
  const predX0Host = new Float32Array(count);
  const guard = (): void => {
    if (input.cancelled?.() === true) throw abortError();
  };
  let x: ort.Tensor = new ort.Tensor('float32', initial, dims);

  for (let step = 0; step < stepCount; step++) {
    // 1. ε_θ(xₜ, t) (and v); ∇ₓ log p(y|xₜ) where the schedule's s is not 0 (a run at s = 0 throughout still asks it)
    const index = respacedIndex(diffusion, step);
    const t = diffusion.timestepMap[index] as number;
    guard();
    const modelOutput = await input.denoise(x, t);
    const scale = guidance === null ? 0 : scaleAt(guidance.schedule, guidance.scale, t, diffusion.originalSteps);
    const skipped = guidance === null || (scale === 0 && guidance.scale !== 0);
    guard();
    const guided = skipped ? null : await guidance.gradient(x, t);

    // 2. the step's coefficients in float64; z drawn on the CPU where the host path draws it
    const coefficients = input.sampler === 'ddim' ? ddimStepCoefficients(diffusion, index, input.eta, input.clipDenoised, guided === null ? 0 : scale) : ddpmStepCoefficients(diffusion, index, input.variance, input.clipDenoised, guided === null ? 0 : scale);
    const drawsNoise = input.sampler === 'ddpm' || coefficients.noiseWeight > 0;
    let stepNoise = zeros;
    if (drawsNoise) {
      const z = new Float32Array(count);
      noise.step(z, step);
      stepNoise = new ort.Tensor('float32', z, dims);
    }

    // 3. x̂₀, the guidance shift and x_{t−1} on the provider
    const outputs = await graph.run({ x, modelOutput, grad: guided?.grad ?? zeros, noise: stepNoise }, coefficients);
    const diverged = outputs.finiteness.findIndex((check) => check !== 0);
    releaseDeviceTensor(x);
    releaseDeviceTensor(modelOutput);
    if (guided !== null) releaseDeviceTensor(guided.grad);
    x = outputs.xNext;
    if (diverged >= 0) {
      releaseDeviceTensor(outputs.predX0);
      releaseDeviceTensor(x);
      throw new SamplingDivergedError(step, t, diverged);
    }

    // 4. x and x̂₀ to the CPU only when wanted
    const onHost = step === stepCount - 1 || input.hostCopyAt(step);
    if (onHost) {
      xtHost.set(await graph.toHost(x));
      predX0Host.set(await graph.toHost(outputs.predX0));
    }
    releaseDeviceTensor(outputs.predX0);
    yield {
      step,
      t,
      xt: xtHost,
      predX0: predX0Host,
      onHost,
      ...(guided === null ? {} : { classProbability: guided.classProbability, gradNorm: outputs.gradNorm }),
    };
  }
  releaseDeviceTensor(x);
}

/** The device path bound to one loaded model and request, for the batches of a job. */
export interface DeviceRun {
  sample(batch: {
    shape: BatchShape;
    noise: NoiseSource;
    timings: RuntimeTimings;
    hostCopyAt(step: number): boolean;
    cancelled?: () => boolean;
  }): AsyncGenerator<DeviceSamplerStep, void, void>;
}

const openGraphs = new WeakMap<LoadedModel, Map<string, Promise<DeviceStepGraph>>>();
const openNetworks = new WeakMap<LoadedModel, Promise<DeviceNetworkSessions>>();

/** Intra-op threads of the sessions this path opens: one on the CPU, where it runs only when asked for by name (to check it). */
function threadsOn(provider: ConcreteProvider): number {
  return provider === 'cpu' ? 1 : 0;
}

interface DeviceNetworkSessions {
  unet: ort.InferenceSession;
  classifier: ort.InferenceSession | null;
}

/**
 * The UNet and classifier sessions the device path runs: where onnxruntime-node can leave ε and
 * the gradient on the device, sessions of the model's graphs that do (the model's own sessions
 * give CPU outputs, which the host path reads); elsewhere the model's own sessions.
 */
function deviceNetworksOf(model: LoadedModel): Promise<DeviceNetworkSessions> {
  const provider = model.unet.provider;
  if (chainedOutputLocation(provider) === 'cpu') return Promise.resolve({ unet: model.unet.session, classifier: model.classifier?.session ?? null });
  let sessions = openNetworks.get(model);
  if (sessions === undefined) {
    const { folder } = model;
    const { unet, classifier } = folder.manifest;
    const unetFile = folder.file(model.unetPrecision === 'fp16' && unet.fp16_file !== null ? unet.fp16_file : unet.file);
    sessions = (async () => ({
      unet: await openGraphOn(unetFile, 'UNet', provider, threadsOn(provider), { [unet.output]: 'gpu-buffer' }),
      classifier:
        classifier === null || model.classifier === null
          ? null
          : await openGraphOn(folder.file(classifier.file), 'classifier', provider, threadsOn(provider), { [classifier.outputs.grad]: 'gpu-buffer', [classifier.outputs.logits]: 'cpu' }),
    }))();
    sessions.catch(() => openNetworks.delete(model));
    openNetworks.set(model, sessions);
  }
  return sessions;
}

/** The model's step graph, opened once per model on the provider its UNet really runs on. */
function stepGraphOf(model: LoadedModel, sampler: StepSampler, variance: VarianceType): Promise<DeviceStepGraph> {
  const name = stepGraphFor(sampler, variance);
  const graphs = openGraphs.get(model) ?? new Map<string, Promise<DeviceStepGraph>>();
  openGraphs.set(model, graphs);
  let graph = graphs.get(name);
  if (graph === undefined) {
    // Elementwise work on one image batch: one thread, so it does not contend with the UNet's pool.
    graph = DeviceStepGraph.open(name, model.unet.provider, 1);
    // A failed open is not kept: the next run reports it again instead of a stale rejection.
    graph.catch(() => graphs.delete(name));
    graphs.set(name, graph);
  }
  return graph;
}

/**
 * The device path for this request, or null when its steps stay on the host: "host", or "auto" on
 * a provider that cannot keep tensors on the device. "device" on a request it cannot run is refused
 * with the reason.
 */
export async function deviceRunFor(
  model: LoadedModel,
  request: Pick<RunRequest, 'sampler' | 'scale' | 'eta' | 'clipDenoised'>,
  plan: Pick<RunPlan, 'classifierFree' | 'diffusion' | 'variance' | 'unetLabel' | 'guidanceLabel' | 'guidanceSchedule'>,
  placement: StepPlacement,
  extras: { trajectory: boolean; switches: boolean },
): Promise<DeviceRun | null> {
  if (placement === 'host' || (placement === 'auto' && !devicePathByDefault(model.unet.provider))) return null;
  const refusal = deviceRefusal(request, plan, extras);
  if (refusal !== null) {
    if (placement === 'auto') return null;
    throw new RunRequestError(deviceRefusalSentence(refusal));
  }
  const sampler = request.sampler as StepSampler;
  let graph: DeviceStepGraph;
  let networks: DeviceNetworkSessions;
  try {
    graph = await stepGraphOf(model, sampler, plan.variance);
    networks = await deviceNetworksOf(model);
  } catch (error) {
    // On "auto" the host path draws the same images, so a provider that cannot open these graphs costs speed, not the run.
    if (placement === 'auto') return null;
    throw error;
  }
  const { manifest } = model.folder;
  const classifier = networks.classifier;
  return {
    sample(batch) {
      const labels = (label: number): number[] => new Array<number>(batch.shape.batch).fill(label);
      const guidance: DeviceGuidance | null =
        plan.guidanceLabel === null || classifier === null
          ? null
          : { gradient: deviceClassifier(classifier, manifest, labels(plan.guidanceLabel), batch.timings), scale: request.scale, schedule: plan.guidanceSchedule };
      return deviceSample({
        sampler,
        diffusion: plan.diffusion,
        shape: batch.shape,
        variance: plan.variance,
        clipDenoised: request.clipDenoised,
        eta: request.eta,
        noise: batch.noise,
        denoise: deviceUnet(networks.unet, manifest, plan.unetLabel === null ? null : labels(plan.unetLabel), batch.shape.batch, batch.timings),
        guidance,
        graph,
        hostCopyAt: batch.hostCopyAt,
        ...(batch.cancelled ? { cancelled: batch.cancelled } : {}),
      });
    },
  };
}
