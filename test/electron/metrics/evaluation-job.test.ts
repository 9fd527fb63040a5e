import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ModelManifest } from '../../../common/models/manifest';
import { decodeNpy } from '../../../common/npy';
import { OnnxMatrixKernels } from '../../../electron/inference/linalg-kernels';
import { featureStatistics, frechetDistance } from '../../../electron/metrics/frechet-distance';
import { readSquareMatrix, readVector } from '../../../electron/metrics/npy-files';
import { decodePng } from '../../../electron/png/image';
import type { Gallery } from '../../../electron/gallery';
import type { EvaluationEvent } from '../../../electron/service/evaluation-events';
import type { EvaluationOperations } from '../../../electron/service/evaluation-operations';
import { openStudio as openStudioRoot } from '../../../electron/service/open-studio';
import { EVALUATION_MODELS as MODELS, quickEvaluationSpec as spec } from './evaluation-fixture';

const MODEL_WITHOUT_EVALUATOR = join(import.meta.dirname, '..', '..', 'fixtures', 'linear-8px');

interface Studio {
  gallery: Gallery;
  evaluations: EvaluationOperations;
  events: EvaluationEvent[];
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gds-eval-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The studio as a process opens it, on this data folder, with its evaluation operations and gallery. */
function openStudio(dir: string, modelFolders = [join(MODELS, 'evaluated-8px')]): Studio {
  const studio = openStudioRoot({ dataDir: dir, modelDirs: modelFolders, threads: 1, appVersion: 'test', evaluation: { provider: 'cpu', batchSize: 4 } });
  const events: EvaluationEvent[] = [];
  studio.evaluations.onEvaluationEvent((event) => events.push(event));
  const close = () => studio.close();
  cleanups.push(close);
  return { gallery: studio.gallery, evaluations: studio.evaluations, events, close } as Studio & { close: () => Promise<void> };
}

/** Samples of the evaluation by scale: seed → sample id. */
function samplesByScale(gallery: Gallery, evaluationId: number, modelId = 'evaluated-8px'): Map<number, Map<number, number>> {
  const byScale = new Map<number, Map<number, number>>();
  for (const sample of gallery.samples.list({ modelId, limit: 500 }).items) {
    if (gallery.runs.get(sample.runId)?.evaluationId !== evaluationId) continue;
    const seeds = byScale.get(sample.scale) ?? new Map<number, number>();
    expect(seeds.has(sample.seed), `seed ${sample.seed} sampled twice at scale ${sample.scale}`).toBe(false);
    seeds.set(sample.seed, sample.id);
    byScale.set(sample.scale, seeds);
  }
  return byScale;
}

describe('evaluation job', () => {
  it('samples every scale into the gallery and stores FID, IS, precision, recall and class accuracy', async () => {
    const studio = openStudio(dataDir());
    const record = await studio.evaluations.startEvaluation(spec);
    await studio.evaluations.whenIdle();

    const finished = studio.evaluations.getEvaluation(record.id);
    expect(finished.status, finished.error ?? '').toBe('completed');
    expect(finished.results.map((result) => result.scale)).toEqual([0, 4]);
    for (const result of finished.results) {
      expect(result.sampleCount).toBe(12);
      expect(result.fid).toBeGreaterThan(0);
      expect(result.inceptionScore).toBeGreaterThanOrEqual(1);
      expect(result.inceptionScore).toBeLessThanOrEqual(3);
      for (const fraction of [result.precision, result.recall, result.classAccuracy]) {
        expect(fraction).toBeGreaterThanOrEqual(0);
        expect(fraction).toBeLessThanOrEqual(1);
      }
    }
    const byScale = samplesByScale(studio.gallery, record.id);
    for (const scale of [0, 4]) expect([...byScale.get(scale)!.keys()].sort((a, b) => a - b)).toEqual([...Array(12).keys()]);
    const progress = studio.events.filter((event) => event.type === 'progress');
    expect(progress.at(-1)).toMatchObject({ phase: 'scoring', doneSamples: 24, totalSamples: 24 });
    expect(studio.events.filter((event) => event.type === 'result')).toHaveLength(2);
    expect(studio.events.at(-1)).toMatchObject({ type: 'finished', status: 'completed' });
  });

  it('stores each figure with its seeds, sampler settings, evaluator and reference hashes, splits, density and coverage', async () => {
    const studio = openStudio(dataDir());
    const record = await studio.evaluations.startEvaluation({ ...spec, scales: [4], seedOffset: 500 });
    await studio.evaluations.whenIdle();
    const finished = studio.evaluations.getEvaluation(record.id);
    expect(finished.status, finished.error ?? '').toBe('completed');
    const manifest = JSON.parse(readFileSync(join(MODELS, 'evaluated-8px', 'manifest.json'), 'utf8')) as ModelManifest;
    const { evaluator } = manifest;
    const [result] = finished.results;
    expect(result!.provenance).toEqual({
      sampleCount: 12,
      firstSeed: 500,
      lastSeed: 511,
      sampler: 'ddim',
      steps: 'ddim5',
      eta: 0,
      mode: 'unconditional+classifier',
      cfgScale: null,
      guidanceSchedule: { kind: 'constant' },
      evaluatorSha256: manifest.files[evaluator!.file],
      referenceFeaturesSha256: manifest.files[evaluator!.reference.features],
      referenceMuSha256: manifest.files[evaluator!.reference.mu],
      referenceSigmaSha256: manifest.files[evaluator!.reference.sigma],
      referenceCount: decodeNpy(new Uint8Array(readFileSync(join(MODELS, 'evaluated-8px', evaluator!.reference.features)))).shape[0],
    });
    // Fewer than 5,000 samples: one split, as the reference evaluator takes them.
    expect(result!.inceptionSplitSizes).toEqual([12]);
    // The test evaluator has no spatial output, so there is no sFID.
    expect(result!.sfid).toBeNull();
    expect(result!.density).toBeGreaterThanOrEqual(0);
    expect(result!.coverage).toBeGreaterThanOrEqual(0);
    expect(result!.coverage).toBeLessThanOrEqual(1);
    const seeds = [...samplesByScale(studio.gallery, record.id).get(4)!.keys()].sort((a, b) => a - b);
    expect(seeds).toEqual([...Array(12).keys()].map((position) => 500 + position));
  });

  it('names the classifier-free weight and the schedule in each figure\'s provenance and in every run it recorded, the default w included', async () => {
    const studio = openStudio(dataDir());
    const given = await studio.evaluations.startEvaluation({ ...spec, scales: [4], mode: 'classifier-free+classifier', cfgScale: 3, guidanceSchedule: { kind: 'ramp', from: 2, to: 0 } });
    const implicit = await studio.evaluations.startEvaluation({ ...spec, scales: [0], mode: 'classifier-free' });
    await studio.evaluations.whenIdle();
    const runsOf = (evaluationId: number) => {
      const runIds = new Set(studio.gallery.samples.list({ modelId: 'evaluated-8px', limit: 500 }).items.map((sample) => sample.runId));
      return [...runIds].map((runId) => studio.gallery.runs.get(runId)!).filter((run) => run.evaluationId === evaluationId);
    };

    const withWeight = studio.evaluations.getEvaluation(given.id);
    expect(withWeight.status, withWeight.error ?? '').toBe('completed');
    expect(withWeight.results[0]!.provenance).toMatchObject({ mode: 'classifier-free+classifier', cfgScale: 3, guidanceSchedule: { kind: 'ramp', from: 2, to: 0 } });
    expect(runsOf(given.id).map((run) => [run.request.cfgScale, run.request.guidanceSchedule])).toEqual([
      [3, { kind: 'ramp', from: 2, to: 0 }],
      [3, { kind: 'ramp', from: 2, to: 0 }],
    ]);

    const withDefault = studio.evaluations.getEvaluation(implicit.id);
    expect(withDefault.status, withDefault.error ?? '').toBe('completed');
    expect(withDefault.results[0]!.provenance).toMatchObject({ mode: 'classifier-free', cfgScale: 2, guidanceSchedule: { kind: 'constant' } });
    expect(runsOf(implicit.id).map((run) => run.request.cfgScale)).toEqual([2, 2]);
  });

  it("gives the sFID of the evaluator's spatial output against the reference's spatial statistics", async () => {
    const folder = join(MODELS, 'spatial-8px');
    const studio = openStudio(dataDir(), [folder]);
    const record = await studio.evaluations.startEvaluation({ ...spec, modelId: 'spatial-8px', scales: [0] });
    await studio.evaluations.whenIdle();
    const finished = studio.evaluations.getEvaluation(record.id);
    expect(finished.status, finished.error ?? '').toBe('completed');

    // The spatial output is the mean of each 2×2 block of the stored 8-bit image in [-1, 1].
    const samples = [...samplesByScale(studio.gallery, record.id, 'spatial-8px').get(0)!.values()];
    const spatial = new Float32Array(samples.length * 16);
    samples.forEach((sampleId, row) => {
      const { data } = decodePng(studio.gallery.samples.image(sampleId)!);
      for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) {
        const block = row * 16 + Math.floor(y / 2) * 4 + Math.floor(x / 2);
        spatial[block] = spatial[block]! + (data[(y * 8 + x) * 4]! / 127.5 - 1) / 4;
      }
    });
    const kernels = new OnnxMatrixKernels({ threads: 1 });
    cleanups.push(() => kernels.release());
    const reference = { mu: await readVector(join(folder, 'reference_spatial_mu.npy')), sigma: await readSquareMatrix(join(folder, 'reference_spatial_sigma.npy')) };
    const expected = await frechetDistance(await featureStatistics({ count: samples.length, dimension: 16, data: spatial }, kernels), reference, kernels);
    const [result] = finished.results;
    expect(result!.sfid).not.toBeNull();
    expect(Math.abs(result!.sfid! - expected) / expected).toBeLessThan(1e-4);
    expect(result!.sfid).not.toBeCloseTo(result!.fid!, 3);
  });

  it('refuses a seed offset that runs past the last seed, with a sentence', async () => {
    const studio = openStudio(dataDir());
    await expect(studio.evaluations.startEvaluation({ ...spec, seedOffset: 2 ** 32 - 5 })).rejects.toThrow(/passes the last seed \(4294967295\); lower the offset/);
  });

  it('resumes after a restart without redoing finished samples or scales', async () => {
    const dir = dataDir();
    const first = openStudio(dir) as Studio & { close: () => Promise<void> };
    // Cancel once the first scale is scored and a few samples of the second exist.
    first.evaluations.onEvaluationEvent((event) => {
      if (event.type === 'progress' && event.phase === 'sampling' && event.doneSamples === 16) first.evaluations.cancelEvaluation(event.evaluationId);
    });
    const evaluationId = (await first.evaluations.startEvaluation(spec)).id;
    await first.evaluations.whenIdle();
    const cancelled = first.evaluations.getEvaluation(evaluationId);
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.results.map((result) => result.scale)).toEqual([0]);
    const before = samplesByScale(first.gallery, evaluationId);
    const keptAtSecondScale = before.get(4)?.size ?? 0;
    expect(keptAtSecondScale).toBeGreaterThanOrEqual(4);
    expect(keptAtSecondScale).toBeLessThan(12);
    await first.close();

    const second = openStudio(dir);
    await second.evaluations.resumeEvaluation(evaluationId);
    await second.evaluations.whenIdle();
    const resumed = second.evaluations.getEvaluation(evaluationId);
    expect(resumed.status, resumed.error ?? '').toBe('completed');
    expect(resumed.results.map((result) => [result.scale, result.sampleCount])).toEqual([[0, 12], [4, 12]]);
    // The first scale's figures were kept, not recomputed.
    expect(resumed.results[0]).toEqual(cancelled.results[0]);
    const after = samplesByScale(second.gallery, evaluationId);
    for (const [scale, seeds] of before) {
      for (const [seed, sampleId] of seeds) expect(after.get(scale)!.get(seed)).toBe(sampleId);
    }
    expect(after.get(4)!.size).toBe(12);
    const sampled = second.events.filter((event) => event.type === 'progress' && event.phase === 'sampling').length;
    expect(sampled).toBe(12 - keptAtSecondScale);
  });

  it('refuses a model without an evaluator with a sentence that says what to do', async () => {
    const studio = openStudio(dataDir(), [MODEL_WITHOUT_EVALUATOR]);
    await expect(studio.evaluations.startEvaluation({ ...spec, modelId: 'linear-8px' })).rejects.toThrow(
      /has no evaluator network.*Export one into its folder/,
    );
    expect(studio.evaluations.listEvaluations()).toEqual([]);
  });
});
