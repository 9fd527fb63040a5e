/**
 * The UNet and the classifier-gradient graph for the device sampling path: they take xₜ as an
 * onnxruntime tensor and give their outputs as tensors, wherever the session placed them, so a
 * step's x and the networks' outputs can stay on the provider. Only the classifier's logits
 * (a few numbers per sample, for p(y|xₜ)) are read on the CPU.
 */
import { classProbabilities } from '../../common/diffusion/guidance';
import type { ModelManifest } from '../../common/models/manifest';
import type { RuntimeTimings } from './networks';
import { ort, runChecked } from './sessions';

export type DeviceDenoiseFn = (xt: ort.Tensor, t: number) => Promise<ort.Tensor>;

export interface DeviceClassifierOutput {
  /** ∇ₓ log p(y|xₜ) [B, C, H, W], not yet multiplied by the guidance scale. */
  grad: ort.Tensor;
  /** p(y|xₜ) of each sample [B]. */
  classProbability: Float32Array;
}

export type DeviceClassifierFn = (xt: ort.Tensor, t: number) => Promise<DeviceClassifierOutput>;

function int64Tensor(values: readonly number[]): ort.Tensor {
  return new ort.Tensor('int64', BigInt64Array.from(values, (value) => BigInt(value)), [values.length]);
}

function outputOf(outputs: ort.InferenceSession.OnnxValueMapType, name: string, label: string): ort.Tensor {
  const value = outputs[name];
  if (!(value instanceof ort.Tensor) || value.type !== 'float32') throw new Error(`The ${label} graph did not return a float32 "${name}" output.`);
  return value;
}

/** The UNet with labels bound (`labels` null: a UNet without class conditioning); t is the original timestep index. */
export function deviceUnet(session: ort.InferenceSession, manifest: ModelManifest, labels: readonly number[] | null, batch: number, timings: RuntimeTimings): DeviceDenoiseFn {
  const { inputs, output } = manifest.unet;
  const labelTensor = labels === null ? null : int64Tensor(labels);
  return async (xt, t) => {
    const feeds: Record<string, ort.Tensor> = { [inputs.x]: xt, [inputs.t]: int64Tensor(new Array<number>(batch).fill(t)) };
    if (inputs.y !== null && labelTensor !== null) feeds[inputs.y] = labelTensor;
    const started = performance.now();
    const outputs = await runChecked(session, 'UNet', feeds);
    timings.unetMs += performance.now() - started;
    timings.unetCalls += 1;
    return outputOf(outputs, output, 'UNet');
  };
}

/** The classifier-gradient graph with labels bound; its logits come to the CPU and become p(y|xₜ). */
export function deviceClassifier(session: ort.InferenceSession, manifest: ModelManifest, labels: readonly number[], timings: RuntimeTimings): DeviceClassifierFn {
  const classifier = manifest.classifier;
  if (classifier === null) throw new Error(`The model "${manifest.id}" has no classifier.`);
  const labelTensor = int64Tensor(labels);
  return async (xt, t) => {
    const feeds: Record<string, ort.Tensor> = {
      [classifier.inputs.x]: xt,
      [classifier.inputs.t]: int64Tensor(new Array<number>(labels.length).fill(t)),
      [classifier.inputs.y]: labelTensor,
    };
    const started = performance.now();
    const outputs = await runChecked(session, 'classifier', feeds);
    timings.classifierMs += performance.now() - started;
    timings.classifierCalls += 1;
    const logits = outputOf(outputs, classifier.outputs.logits, 'classifier');
    if (logits.location !== 'cpu' || !(logits.data instanceof Float32Array)) throw new Error('The classifier graph must give its logits on the CPU.');
    return {
      grad: outputOf(outputs, classifier.outputs.grad, 'classifier'),
      classProbability: classProbabilities(logits.data, labels, logits.data.length / labels.length),
    };
  };
}
