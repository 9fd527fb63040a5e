/**
 * The model folder's graphs as the functions the samplers take: the UNet as a DenoiseFn and the
 * classifier-gradient graph as a ClassifierGradientFn, with labels bound and onnxruntime time counted.
 */
import { classProbabilities } from '../../common/diffusion/guidance';
import type { ClassifierGradientFn, DenoiseFn, DenoiseWithLabelsFn } from '../../common/diffusion/sampler';
import type { ModelManifest } from '../../common/models/manifest';
import { ort, runChecked } from './sessions';

/** Milliseconds spent inside onnxruntime, per graph. */
export interface RuntimeTimings {
  unetMs: number;
  unetCalls: number;
  classifierMs: number;
  classifierCalls: number;
}

export function emptyTimings(): RuntimeTimings {
  return { unetMs: 0, unetCalls: 0, classifierMs: 0, classifierCalls: 0 };
}

export interface BatchGeometry {
  batch: number;
  channels: number;
  size: number;
}

function int64Tensor(values: ArrayLike<number>): ort.Tensor {
  const data = new BigInt64Array(values.length);
  for (let i = 0; i < values.length; i++) data[i] = BigInt(values[i] as number);
  return new ort.Tensor('int64', data, [values.length]);
}

/** The original timestep index; a manifest with rescale_timesteps has T = 1000, where t·1000/T is t itself. */
function timestepTensor(t: number, batch: number): ort.Tensor {
  return int64Tensor(new Array<number>(batch).fill(t));
}

function float32Output(outputs: ort.InferenceSession.OnnxValueMapType, name: string, label: string): Float32Array {
  const value = outputs[name];
  if (!(value instanceof ort.Tensor) || !(value.data instanceof Float32Array)) {
    throw new Error(`The ${label} graph did not return a float32 "${name}" output.`);
  }
  return value.data;
}

/** The UNet with labels bound: `labels` null feeds no y (a UNet without class conditioning). */
export function unetDenoiser(session: ort.InferenceSession, manifest: ModelManifest, geometry: BatchGeometry, labels: readonly number[] | null, timings: RuntimeTimings): DenoiseFn {
  const { inputs, output } = manifest.unet;
  const dims = [geometry.batch, geometry.channels, geometry.size, geometry.size];
  const labelTensor = labels === null ? null : int64Tensor(labels);
  return async (xt, t) => {
    const feeds: Record<string, ort.Tensor> = {
      [inputs.x]: new ort.Tensor('float32', xt, dims),
      [inputs.t]: timestepTensor(t, geometry.batch),
    };
    if (inputs.y !== null && labelTensor !== null) feeds[inputs.y] = labelTensor;
    const started = performance.now();
    const outputs = await runChecked(session, 'UNet', feeds);
    timings.unetMs += performance.now() - started;
    timings.unetCalls += 1;
    return float32Output(outputs, output, 'UNet');
  };
}

/**
 * The UNet with labels per call, for classifier-free guidance: one bound denoiser per label list
 * (the doubled batch [y, ∅] has its own), so the label tensor is built once per list.
 */
export function labelledUnetDenoiser(session: ort.InferenceSession, manifest: ModelManifest, geometry: Omit<BatchGeometry, 'batch'>, timings: RuntimeTimings): DenoiseWithLabelsFn {
  const bound = new Map<string, DenoiseFn>();
  return async (xt, t, labels) => {
    const key = labels.join(',');
    let denoise = bound.get(key);
    if (denoise === undefined) {
      denoise = unetDenoiser(session, manifest, { ...geometry, batch: labels.length }, labels, timings);
      bound.set(key, denoise);
    }
    return denoise(xt, t);
  };
}

/** The classifier-gradient graph with labels bound; also turns its logits into p(y|xₜ). */
export function classifierGradient(session: ort.InferenceSession, manifest: ModelManifest, geometry: BatchGeometry, labels: readonly number[], timings: RuntimeTimings): ClassifierGradientFn {
  const classifier = manifest.classifier;
  if (classifier === null) throw new Error(`The model "${manifest.id}" has no classifier.`);
  const dims = [geometry.batch, geometry.channels, geometry.size, geometry.size];
  const labelTensor = int64Tensor(labels);
  return async (xt, t) => {
    const feeds: Record<string, ort.Tensor> = {
      [classifier.inputs.x]: new ort.Tensor('float32', xt, dims),
      [classifier.inputs.t]: timestepTensor(t, geometry.batch),
      [classifier.inputs.y]: labelTensor,
    };
    const started = performance.now();
    const outputs = await runChecked(session, 'classifier', feeds);
    timings.classifierMs += performance.now() - started;
    timings.classifierCalls += 1;
    const logits = float32Output(outputs, classifier.outputs.logits, 'classifier');
    return {
      grad: float32Output(outputs, classifier.outputs.grad, 'classifier'),
      classProbability: classProbabilities(logits, labels, logits.length / geometry.batch),
      logits,
    };
  };
}
