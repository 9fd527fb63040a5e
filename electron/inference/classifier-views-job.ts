/**
 * The guiding classifier asked about stored states: for each xₜ and the timestep it is at, one
 * classifier-gradient pass, kept as the trajectory recorder keeps a sampler's pass.
 */
import { CLASSIFIER_TOP_CLASSES } from '../../common/contract/gallery';
import { gradientHeat, topClasses } from './classifier-view';
import type { LoadedModel } from './loaded-model';
import { classifierGradient, emptyTimings } from './networks';
import type { RecordedClassifierViews } from './types';

export interface ClassifierQuestion {
  /** The states [N, C, H, W], values in model space. */
  states: Float32Array;
  /** The original timestep index each state is at [N]. */
  t: Int32Array;
  /** The class y of log p(y|xₜ). */
  label: number;
}

/** The smallest batch the model's graphs accept (the classifier is exported with the UNet's batch sizes). */
function smallestBatch(batchOption: 'dynamic' | number[]): number {
  return batchOption === 'dynamic' ? 1 : Math.min(...batchOption);
}

export async function classifierViews(model: LoadedModel, question: ClassifierQuestion, cancelled: () => boolean): Promise<RecordedClassifierViews> {
  const { manifest } = model.folder;
  if (model.classifier === null || manifest.classifier === null) {
    throw new Error(`The model "${manifest.name}" has no classifier, so there is nothing to ask; pick a trajectory of a model that has one.`);
  }
  const { channels, size } = manifest.image;
  const plane = size * size;
  const perSample = channels * plane;
  const count = question.t.length;
  if (question.states.length !== count * perSample) {
    throw new Error(`${count} states of ${channels}×${size}×${size} hold ${count * perSample} values, not ${question.states.length}.`);
  }
  const batch = smallestBatch(manifest.unet.batch);
  const gradient = classifierGradient(model.classifier.session, manifest, { batch, channels, size }, new Array<number>(batch).fill(question.label), emptyTimings());
  const views: RecordedClassifierViews = {
    t: Int32Array.from(question.t),
    probability: new Float32Array(count),
    topClasses: new Int32Array(count * CLASSIFIER_TOP_CLASSES).fill(-1),
    topProbabilities: new Float32Array(count * CLASSIFIER_TOP_CLASSES),
    heat: new Uint8Array(count * plane),
    gradientMax: new Float32Array(count),
  };
  const input = new Float32Array(batch * perSample);
  for (let item = 0; item < count; item++) {
    if (cancelled()) {
      const error = new Error('Asking the classifier was cancelled.');
      error.name = 'AbortError';
      throw error;
    }
    const state = question.states.subarray(item * perSample, (item + 1) * perSample);
    // A graph with a fixed batch gets the state repeated; row 0 is the answer.
    for (let row = 0; row < batch; row++) input.set(state, row * perSample);
    const { grad, classProbability, logits } = await gradient(input, question.t[item] as number);
    if (logits === undefined) throw new Error(`The classifier of "${manifest.name}" gave no logits.`);
    views.probability[item] = classProbability[0] as number;
    views.gradientMax[item] = gradientHeat(grad, 0, channels, plane, views.heat.subarray(item * plane, (item + 1) * plane)).max;
    topClasses(logits, 0, logits.length / batch).forEach(({ classIndex, probability }, rank) => {
      views.topClasses[item * CLASSIFIER_TOP_CLASSES + rank] = classIndex;
      views.topProbabilities[item * CLASSIFIER_TOP_CLASSES + rank] = probability;
    });
  }
  return views;
}
