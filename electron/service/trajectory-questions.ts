/**
 * Questions about a recorded trajectory that the run itself did not answer: what the guiding
 * classifier sees in each stored xₜ (for unguided runs, or steps a schedule left unguided), and how
 * sure the clean evaluator is of the class in each stored x̂₀. The answers are stored with the steps.
 */
import type { SampleDetail, TrajectoryStepRecord } from '../../common/contract/gallery';
import type { ParsedRequestOf } from '../../common/contract/studio-api';
import type { ModelManifest } from '../../common/models/manifest';
import { planRun } from '../../common/models/run-plan';
import { classifierViewAt, type Gallery } from '../gallery';
import type { Engine } from '../inference';
import type { ModelCatalog } from './model-catalog';
import { UserFacingError } from './user-facing-error';

type Question = ParsedRequestOf<'askClassifier'>;

/** p(y) under softmax of row `row` of [N, K] logits. */
function softmaxProbability(logits: Float32Array, row: number, classCount: number, label: number): number {
  const values = logits.subarray(row * classCount, (row + 1) * classCount);
  let largest = -Infinity;
  for (const value of values) largest = Math.max(largest, value);
  let total = 0;
  for (const value of values) total += Math.exp(value - largest);
  return Math.exp((values[label] as number) - largest) / total;
}

export class TrajectoryQuestions {
  constructor(
    private readonly gallery: Gallery,
    private readonly catalog: ModelCatalog,
    private readonly engine: Engine,
  ) {}

  private recorded(sampleId: number): SampleDetail {
    const detail = this.gallery.samples.detail(sampleId);
    if (detail === undefined) throw new UserFacingError(`Sample ${sampleId} is not in the gallery any more; it may have been deleted.`);
    if (detail.trajectory.length === 0) {
      throw new UserFacingError(`Sample ${sampleId} has no recorded trajectory; turn on "Record trajectories" and run it again to inspect its steps.`);
    }
    return detail;
  }

  /** The steps asked about: those named (each checked), else those `lacking` picks. */
  private stepsAsked(detail: SampleDetail, named: readonly number[] | undefined, lacking: (step: TrajectoryStepRecord) => boolean): TrajectoryStepRecord[] {
    const { trajectory } = detail;
    if (named === undefined) return trajectory.filter(lacking);
    return [...new Set(named)].map((index) => {
      const step = trajectory[index];
      if (step === undefined) {
        throw new UserFacingError(`Sample ${detail.sample.id} has ${trajectory.length} recorded steps, numbered 0 to ${trajectory.length - 1}; there is no step ${index}. Pick a step in that range.`);
      }
      return step;
    });
  }

  private async manifestOf(detail: SampleDetail): Promise<ModelManifest> {
    return this.catalog.manifestOf(detail.sample.modelId);
  }

  /** The steps' stored xₜ or x̂₀, one after another, as a network takes a batch. */
  private stackedSteps(sampleId: number, steps: readonly TrajectoryStepRecord[], kind: 'xt' | 'x0', manifest: ModelManifest, network: string): Float32Array {
    const { channels, size } = manifest.image;
    const perSample = channels * size * size;
    const stacked = new Float32Array(steps.length * perSample);
    steps.forEach((step, position) => {
      const tensor = this.gallery.trajectories.tensor(sampleId, step.index, kind, channels);
      if (tensor === undefined) throw new UserFacingError(`Step ${step.index} of sample ${sampleId} is missing from the gallery; it cannot be shown to ${network}.`);
      stacked.set(tensor, position * perSample);
    });
    return stacked;
  }

  /**
   * The timestep each recorded xₜ is at: a step started from t and left x for the next step's t
   * (the respaced sequence of the run), or 0 after the last step.
   */
  private timestepsOfStates(detail: SampleDetail, manifest: ModelManifest, steps: readonly TrajectoryStepRecord[]): Int32Array {
    const { timestepMap } = planRun(manifest, { ...detail.run.request, seeds: [detail.sample.seed] }).diffusion;
    const stepCount = timestepMap.length;
    return Int32Array.from(steps, (step) => {
      const position = timestepMap.indexOf(step.t);
      // Sampling order runs the map backwards: step s starts from timestepMap[S − 1 − s].
      const samplerStep = stepCount - 1 - position;
      return position < 0 || samplerStep + 1 >= stepCount ? 0 : (timestepMap[stepCount - 2 - samplerStep] as number);
    });
  }

  async askClassifier({ sampleId, steps: named }: Question): Promise<SampleDetail> {
    const detail = this.recorded(sampleId);
    const manifest = await this.manifestOf(detail);
    if (manifest.classifier === null) {
      throw new UserFacingError(`The model "${manifest.name}" has no noisy classifier, so there is nothing to ask about sample ${sampleId}'s steps; the heatmap and top classes need a model with one.`);
    }
    const steps = this.stepsAsked(detail, named, (step) => step.classifierView === null);
    if (steps.length === 0) return detail;
    const states = this.stackedSteps(sampleId, steps, 'xt', manifest, 'the classifier');
    const views = await this.engine.classifierViews(manifest.id, {
      states,
      t: this.timestepsOfStates(detail, manifest, steps),
      label: detail.sample.classIndex,
      provider: detail.run.request.provider,
    });
    const plane = manifest.image.size * manifest.image.size;
    const answered = steps.map((step, position) => {
      const view = classifierViewAt(views, position, plane);
      if (view === null) throw new Error(`The inference worker answered no classifier pass for step ${step.index}.`);
      return { index: step.index, view };
    });
    this.gallery.trajectories.storeClassifierViews(sampleId, answered);
    return this.recorded(sampleId);
  }

  async askEvaluator({ sampleId, steps: named }: Question): Promise<SampleDetail> {
    const detail = this.recorded(sampleId);
    const manifest = await this.manifestOf(detail);
    if (manifest.evaluator === null) {
      throw new UserFacingError(`The model "${manifest.name}" has no evaluator network, so p(y | x̂₀) of sample ${sampleId}'s steps cannot be measured; add an evaluator to its folder (see docs/model-format.md).`);
    }
    const steps = this.stepsAsked(detail, named, (step) => step.evaluatorProbability === null);
    if (steps.length === 0) return detail;
    const images = this.stackedSteps(sampleId, steps, 'x0', manifest, 'the evaluator');
    const { dir } = await this.catalog.find(manifest.id);
    const evaluator = await this.engine.openEvaluator(dir, { provider: detail.run.request.provider });
    try {
      const { logits } = await evaluator.evaluate(images, steps.length);
      this.gallery.trajectories.storeEvaluatorProbabilities(
        sampleId,
        steps.map((step, row) => ({ index: step.index, probability: softmaxProbability(logits.data, row, logits.dimension, detail.sample.classIndex) })),
      );
    } finally {
      await evaluator.release();
    }
    return this.recorded(sampleId);
  }
}
