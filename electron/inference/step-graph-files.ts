/**
 * Where the device sampling path's step graphs live: .onnx files written by
 * `python -m studio_tools.export.step_graphs`, shipped beside the app like the metrics'
 * linear-algebra graphs (packaging copies STEP_GRAPHS_FOLDER under resources/ with the same
 * relative path).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const stepGraphNames = ['ddimStep', 'ddpmStepLearnedRange', 'ddpmStepFixedVariance'] as const;
export type StepGraphName = (typeof stepGraphNames)[number];

/**
 * The arithmetic a step graph does between its float32 inputs and outputs: float64 as the
 * TypeScript samplers do, or float32 for providers without float64 kernels (WebGPU).
 */
export type StepGraphArithmetic = 'float64' | 'float32';

/** The folder, relative to the project root and to the packaged app's resources folder. */
export const STEP_GRAPHS_FOLDER = 'electron/inference/step-graphs';

/** The folder beside this module's source, as it is while developing and testing. */
export function sourceStepGraphsDir(): string {
  return path.join(path.dirname(fileURLToPath(import.meta.url)), 'step-graphs');
}

export function stepGraphFile(dir: string, name: StepGraphName, arithmetic: StepGraphArithmetic): string {
  return path.join(dir, arithmetic === 'float64' ? `${name}.onnx` : `${name}.f32.onnx`);
}

/** The identity graph that copies a device tensor back to the CPU. */
export function readBackGraphFile(dir: string): string {
  return path.join(dir, 'readBack.onnx');
}
