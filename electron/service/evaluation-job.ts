/**
 * One evaluation from start (or resumption) to end: for every guidance scale, sample what is
 * still missing into the gallery (runs tied to the evaluation), then score the scale's stored
 * images with the model's evaluator against its reference statistics and store the figures.
 * Seeds are fixed by position (sample i has seed seedOffset + i and class classes[i mod
 * #classes]), so the same seeds run at every scale and a resumed evaluation knows exactly what
 * it still lacks. Scoring takes the samples in that drawing order, never sorted by class: the
 * Inception Score's splits of 5,000 must each hold the classes as they were drawn.
 */
import { MAX_BATCH_SIZE, MAX_SEEDS_PER_RUN } from '../../common/contract/bounds';
import { drawnGuidance, type EvaluationResult, type EvaluationSpec } from '../../common/contract/evaluation';
import type { ProviderName, RunRequest } from '../../common/contract/run-request';
import { NOISE_ALGORITHM } from '../../common/diffusion/rng';
import { newSampleFrom, type Gallery } from '../gallery';
import type { Engine } from '../inference';
import type { EvaluatorNetwork, ReferenceSummary } from '../inference/evaluator-network';
import type { EvaluationEvent } from './evaluation-events';
import { endEvaluation, stoppedOrFailed } from './evaluation-ending';
import { stoppedOnRequest, type JobOutcome } from './job-outcome';
import { evaluationSampleIds, readEvaluationImages } from './evaluation-images';
import { evaluationProvenance } from './evaluation-provenance';
import { loadReference, scoreImages } from './evaluation-scoring';

export interface EvaluationJobContext {
  engine: Engine;
  gallery: Gallery;
  appVersion: string;
  /** The model's evaluator, opened from its verified folder. */
  openEvaluator(modelId: string): Promise<EvaluatorNetwork>;
  /** Registers the model in the gallery and opens its sessions; returns the provider really used. */
  prepareModel(modelId: string, provider: ProviderName): Promise<string>;
  emit(event: EvaluationEvent): void;
  provider?: ProviderName;
  /** Samples per engine batch. */
  batchSize?: number;
}

/** Seeds of each class: sample i has seed seedOffset + i and class classes[i mod #classes]. */
export function seedsByClass(spec: EvaluationSpec): Map<number, number[]> {
  const plan = new Map<number, number[]>(spec.classes.map((classIndex) => [classIndex, []]));
  for (let i = 0; i < spec.samplesPerScale; i++) plan.get(spec.classes[i % spec.classes.length]!)!.push(spec.seedOffset + i);
  return plan;
}

export async function executeEvaluation(evaluationId: number, context: EvaluationJobContext, signal: AbortSignal): Promise<JobOutcome> {
  const { gallery } = context;
  const record = gallery.evaluations.get(evaluationId);
  if (!record) throw new Error(`Evaluation ${evaluationId} is not in the gallery.`);
  const { spec } = record;
  const plan = seedsByClass(spec);
  const drawnWeight = drawnGuidance(spec).cfgScale;
  const total = spec.samplesPerScale * spec.scales.length;
  let evaluator: EvaluatorNetwork | null = null;
  gallery.evaluations.setStatus(evaluationId, 'running');
  context.emit({ type: 'started', evaluationId, spec, totalSamples: total });

  try {
    evaluator = await context.openEvaluator(spec.modelId);
    const { manifest } = evaluator;
    for (const classIndex of spec.classes) {
      if (classIndex >= manifest.classes.count) {
        throw new Error(`Class ${classIndex} is out of range: the model "${spec.modelId}" has classes 0 to ${manifest.classes.count - 1}.`);
      }
    }
    const provider = await context.prepareModel(spec.modelId, context.provider ?? 'auto');
    let reference: ReferenceSummary | null = null;
    let done = 0;

    for (const [scaleIndex, scale] of spec.scales.entries()) {
      for (const [classIndex, seeds] of plan) {
        const finished = new Set(gallery.evaluations.finishedSeeds(evaluationId, scale, classIndex));
        const missing = seeds.filter((seed) => !finished.has(seed));
        done += seeds.length - missing.length;
        // A class may lack more seeds than one run may hold; each run takes the next slice.
        for (let first = 0; first < missing.length; first += MAX_SEEDS_PER_RUN) {
          signal.throwIfAborted();
          const request: RunRequest = {
            modelId: spec.modelId,
            classIndex,
            mode: spec.mode,
            // The classifier-free runs name the w they drew with, the default included, so a run read alone says it.
            ...(drawnWeight !== null ? { cfgScale: drawnWeight } : spec.cfgScale === undefined ? {} : { cfgScale: spec.cfgScale }),
            ...(spec.guidanceSchedule === undefined ? {} : { guidanceSchedule: spec.guidanceSchedule }),
            scale,
            sampler: spec.sampler,
            steps: spec.steps,
            eta: spec.eta,
            clipDenoised: true,
            seeds: missing.slice(first, first + MAX_SEEDS_PER_RUN),
            batchSize: Math.min(context.batchSize ?? 16, MAX_BATCH_SIZE),
            provider: context.provider ?? 'auto',
          };
          const run = gallery.runs.start({ request, provider: provider as ProviderName, noiseAlgorithm: NOISE_ALGORITHM, appVersion: context.appVersion, evaluationId });
          try {
            await context.engine.sample(request, {
              signal,
              previewEvery: 0,
              onSample: (sample) => {
                gallery.samples.add(run.id, newSampleFrom(sample));
                done++;
                context.emit({ type: 'progress', evaluationId, phase: 'sampling', scale, scaleIndex, doneSamples: done, totalSamples: total });
              },
            });
            gallery.runs.end(run.id, 'completed');
          } catch (error) {
            const cancelled = stoppedOnRequest(signal, error);
            gallery.runs.end(run.id, cancelled ? 'cancelled' : 'failed', cancelled ? null : (error as Error).message);
            throw error;
          }
        }
      }

      const stored = gallery.evaluations.get(evaluationId)!.results.find((result) => result.scale === scale);
      if (stored && stored.sampleCount === spec.samplesPerScale) continue;
      signal.throwIfAborted();
      context.emit({ type: 'progress', evaluationId, phase: 'scoring', scale, scaleIndex, doneSamples: done, totalSamples: total });
      const drawn = spec.classes
        .flatMap((classIndex) => evaluationSampleIds(gallery, evaluationId, spec.modelId, scale, classIndex).map((sample) => ({ ...sample, classIndex })))
        .sort((a, b) => a.seed - b.seed);
      const { size, channels } = manifest.image;
      const images = readEvaluationImages(gallery, drawn.map((sample) => sample.sampleId), drawn.map((sample) => sample.classIndex), channels, size);
      reference ??= await loadReference(evaluator, signal);
      const scores = await scoreImages(evaluator, images.images, images.classIndices, reference, signal);
      const result: EvaluationResult = { scale, ...scores, provenance: evaluationProvenance(spec, manifest, scores.sampleCount, reference.count) };
      gallery.evaluations.saveResult(evaluationId, result);
      context.emit({ type: 'result', evaluationId, result });
    }
    return endEvaluation(gallery, context, evaluationId, { status: 'completed', message: null });
  } catch (error) {
    return endEvaluation(gallery, context, evaluationId, stoppedOrFailed(stoppedOnRequest(signal, error), error));
  } finally {
    await evaluator?.release();
  }
}
