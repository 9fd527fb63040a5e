import { encodePng, imageFromTensor, rgbaFromInterleaved } from '../png/image';
import type { NewSample } from './samples-repository';
import type { NewTrajectoryStep } from './trajectories-repository';

/** The parts of a finished engine sample the gallery keeps (the engine's SampleResult has this shape). */
export interface FinishedSample {
  seed: number;
  channels: number;
  height: number;
  width: number;
  /** 8-bit pixels, row-major and interleaved: height × width × channels. */
  pixels: Uint8Array;
  /** p(y | x) at the last step, for guided runs. */
  classProbability: number | null;
  trajectory?: {
    /** Original timestep index of each step [S]. */
    t: Int32Array;
    /** xₜ and x̂₀ after each step, [S, C, H, W] in [-1, 1]. */
    xt: Float32Array;
    predX0: Float32Array;
    classProbability: Float32Array | null;
    gradNorm: Float32Array | null;
  };
}

/** Encodes an engine sample (image and, when recorded, every trajectory step) for `samples.add`. */
export function newSampleFrom(finished: FinishedSample): NewSample {
  const { channels, height, width } = finished;
  const pixels = rgbaFromInterleaved(finished.pixels, width, height, channels);
  const png = encodePng(pixels);
  const trajectory: NewTrajectoryStep[] = [];
  const recorded = finished.trajectory;
  if (recorded !== undefined) {
    const plane = channels * height * width;
    const stepImage = (tensor: Float32Array, step: number) =>
      encodePng(imageFromTensor(tensor.subarray(step * plane, (step + 1) * plane), channels, height, width));
    for (let step = 0; step < recorded.t.length; step++) {
      trajectory.push({
        index: step,
        t: recorded.t[step] as number,
        xtPng: stepImage(recorded.xt, step),
        predX0Png: stepImage(recorded.predX0, step),
        probability: recorded.classProbability?.[step] ?? null,
        gradientNorm: recorded.gradNorm?.[step] ?? null,
      });
    }
  }
  return { seed: finished.seed, png, pixels, confidence: finished.classProbability, trajectory };
}
