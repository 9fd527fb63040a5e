import { CLASSIFIER_TOP_CLASSES, type ClassProbability } from '../../common/contract/gallery';
import type { RecordedClassifierViews } from '../inference/types';
import { encodePng, rgbaFromInterleaved } from '../png/image';
import type { NewSample } from './samples-repository';
import type { NewTrajectoryStep, StoredClassifierView } from './trajectories-repository';
import { bytesOfTensor } from './trajectory-images';

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
    classifier: RecordedClassifierViews | null;
  };
}

/** The classifier pass filed under step `step`, or null where none ran. */
export function classifierViewAt(views: RecordedClassifierViews | null, step: number, plane: number): StoredClassifierView | null {
  if (views === null || (views.t[step] as number) < 0) return null;
  const top: ClassProbability[] = [];
  for (let rank = 0; rank < CLASSIFIER_TOP_CLASSES; rank++) {
    const classIndex = views.topClasses[step * CLASSIFIER_TOP_CLASSES + rank] as number;
    if (classIndex >= 0) top.push({ classIndex, probability: views.topProbabilities[step * CLASSIFIER_TOP_CLASSES + rank] as number });
  }
  return {
    t: views.t[step] as number,
    probability: views.probability[step] as number,
    top,
    heat: views.heat.slice(step * plane, (step + 1) * plane),
    gradientMax: views.gradientMax[step] as number,
  };
}

/**
 * The sample's image and its trajectory steps for `samples.add`. Only the final image is encoded
 * here; each step keeps its exact xₜ and 8-bit x̂₀, and is encoded when someone looks at it.
 */
export function newSampleFrom(finished: FinishedSample): NewSample {
  const { channels, height, width } = finished;
  const pixels = rgbaFromInterleaved(finished.pixels, width, height, channels);
  const png = encodePng(pixels);
  const trajectory: NewTrajectoryStep[] = [];
  const recorded = finished.trajectory;
  if (recorded !== undefined) {
    const perSample = channels * height * width;
    for (let step = 0; step < recorded.t.length; step++) {
      trajectory.push({
        index: step,
        t: recorded.t[step] as number,
        xt: recorded.xt.subarray(step * perSample, (step + 1) * perSample),
        predX0: bytesOfTensor(recorded.predX0.subarray(step * perSample, (step + 1) * perSample)),
        probability: recorded.classProbability?.[step] ?? null,
        gradientNorm: recorded.gradNorm?.[step] ?? null,
        classifier: classifierViewAt(recorded.classifier, step, height * width),
      });
    }
  }
  return { seed: finished.seed, png, pixels, confidence: finished.classProbability, trajectory };
}
