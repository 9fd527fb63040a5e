import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { createEngine, type EvaluatorNetwork } from '../../../electron/inference';
import { sessionCensus } from '../../../electron/inference/sessions';
import { loadReference, scoreImages } from '../../../electron/service/evaluation-scoring';
import { openStudio } from '../../../electron/service/open-studio';
import { request } from './test-models';
import { EVALUATED_MODEL, quickEvaluationSpec } from '../metrics/evaluation-fixture';

const MODEL_WITHOUT_EVALUATOR = path.join(import.meta.dirname, '..', '..', 'fixtures', 'linear-8px');

/** `count` 8×8 single-channel images in model space, the same for the same seed. */
function images(count: number, seed: number): Float32Array {
  let state = seed;
  return Float32Array.from({ length: count * 64 }, () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return (state / 2147483648) * 2 - 1;
  });
}

const classes = (count: number): Int32Array => Int32Array.from({ length: count }, (_, i) => i % 3);

/** 8-bit grey pixels [count, 8, 8], the same for the same seed. */
function pixels(count: number, seed: number): Uint8Array {
  return Uint8Array.from(images(count, seed), (value) => Math.floor((value + 1) * 127.5));
}

/** Grey PNGs of `size`×`size` made from `pixels`, as the gallery stores samples. */
function greyPngs(pixelData: Uint8Array, size: number): Uint8Array[] {
  const plane = size * size;
  return Array.from({ length: pixelData.length / plane }, (_, index) => {
    const png = new PNG({ width: size, height: size });
    for (let pixel = 0; pixel < plane; pixel++) {
      const grey = pixelData[index * plane + pixel]!;
      png.data.set([grey, grey, grey, 255], pixel * 4);
    }
    return new Uint8Array(PNG.sync.write(png, { colorType: 0, inputColorType: 6 }));
  });
}

function stored(pngs: Uint8Array[]) {
  return { format: 'png' as const, sampleIds: pngs.map((_, index) => 100 + index), pngs, channels: 1, size: 8 };
}

const engine = createEngine({ modelFolders: [EVALUATED_MODEL], threads: 1 });
afterAll(() => engine.close());

async function openedEvaluator(): Promise<EvaluatorNetwork> {
  return engine.openEvaluator(EVALUATED_MODEL, { provider: 'cpu' });
}

describe('an evaluation through the studio', () => {
  it('scores every scale while this thread opens no onnxruntime session', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'gds-worker-'));
    const studio = openStudio({ dataDir, modelDirs: [EVALUATED_MODEL], threads: 1, appVersion: 'test', evaluation: { provider: 'cpu', batchSize: 4 } });
    try {
      const record = await studio.evaluations.startEvaluation({ ...quickEvaluationSpec, samplesPerScale: 8 });
      await studio.evaluations.whenIdle();
      const finished = studio.evaluations.getEvaluation(record.id);
      expect(finished.status).toBe('completed');
      expect(finished.results.map((result) => [result.scale, result.sampleCount])).toEqual([
        [0, 8],
        [4, 8],
      ]);
      for (const result of finished.results) expect(Number.isFinite(result.fid)).toBe(true);
      expect(sessionCensus().sessionsOpened).toBe(0);
    } finally {
      await studio.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('an evaluation cancelled while it scores', () => {
  it('ends cancelled with no figures for that scale, keeps its samples, and resumes to the end', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'gds-worker-'));
    const studio = openStudio({ dataDir, modelDirs: [EVALUATED_MODEL], threads: 1, appVersion: 'test', evaluation: { provider: 'cpu', batchSize: 4 } });
    try {
      const sampled: number[] = [];
      let cancelWhenScoring = true;
      studio.evaluations.onEvaluationEvent((event) => {
        if (event.type !== 'progress') return;
        if (event.phase === 'sampling') sampled.push(event.doneSamples);
        else if (cancelWhenScoring) {
          cancelWhenScoring = false;
          studio.evaluations.cancelEvaluation(event.evaluationId);
        }
      });
      const record = await studio.evaluations.startEvaluation({ ...quickEvaluationSpec, scales: [0], samplesPerScale: 8 });
      await studio.evaluations.whenIdle();
      const cancelled = studio.evaluations.getEvaluation(record.id);
      expect([cancelled.status, cancelled.results]).toEqual(['cancelled', []]);
      expect(sampled.at(-1)).toBe(8);
      sampled.length = 0;
      await studio.evaluations.resumeEvaluation(record.id);
      await studio.evaluations.whenIdle();
      // The resumed evaluation only scores: its eight samples were kept.
      expect(sampled).toEqual([]);
      const resumed = studio.evaluations.getEvaluation(record.id);
      expect([resumed.status, resumed.results.map((result) => result.sampleCount)]).toEqual(['completed', [8]]);
    } finally {
      await studio.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('the inference worker', () => {
  it('opens the UNet, classifier, evaluator and the three linear-algebra graphs, off the main thread', async () => {
    await engine.sample(request({ modelId: 'evaluated-8px', steps: 'ddim5', seeds: [1, 2] }));
    const evaluator = await openedEvaluator();
    try {
      const reference = await loadReference(evaluator);
      const scores = await scoreImages(evaluator, images(10, 1), classes(10), reference);
      expect(scores.sampleCount).toBe(10);
      expect(Number.isFinite(scores.fid)).toBe(true);
    } finally {
      await evaluator.release();
    }
    expect(await engine.workerSessionCensus()).toEqual({ isMainThread: false, sessionsOpened: 6 });
    expect(sessionCensus().sessionsOpened).toBe(0);
  }, 60_000);

  it('gives the same figures for the same images, and features of the asked shape', async () => {
    const evaluator = await openedEvaluator();
    try {
      const reference = await loadReference(evaluator);
      expect(reference).toMatchObject({ neighbourhood: 3 });
      const first = await scoreImages(evaluator, images(12, 7), classes(12), reference);
      const again = await scoreImages(evaluator, images(12, 7), classes(12), reference);
      expect(again).toEqual(first);
      const outputs = await evaluator.evaluate(images(5, 3), 5);
      expect([outputs.features.count, outputs.logits.count, outputs.features.dimension]).toEqual([5, 5, reference.dimension]);
      expect(outputs.features.data).toHaveLength(5 * reference.dimension);
    } finally {
      await evaluator.release();
    }
  }, 60_000);

  it('stops a score when its signal aborts, and scores the next request as if nothing happened', async () => {
    const evaluator = await openedEvaluator();
    try {
      const reference = await loadReference(evaluator);
      const expected = await scoreImages(evaluator, images(2000, 5), classes(2000), reference);
      const controller = new AbortController();
      const scoring = scoreImages(evaluator, images(2000, 5), classes(2000), reference, controller.signal);
      controller.abort();
      await expect(scoring).rejects.toMatchObject({ name: 'AbortError', message: 'The evaluation was cancelled.' });
      await expect(scoreImages(evaluator, images(2000, 5), classes(2000), reference, controller.signal)).rejects.toMatchObject({ name: 'AbortError' });
      expect(await scoreImages(evaluator, images(2000, 5), classes(2000), reference)).toEqual(expected);
    } finally {
      await evaluator.release();
    }
  }, 120_000);
});

describe('gallery PNGs decoded in the worker', () => {
  it('score as the same pixels in model space (x = pixel / 127.5 − 1) do', async () => {
    const evaluator = await openedEvaluator();
    try {
      const reference = await loadReference(evaluator);
      const grey = pixels(12, 9);
      const modelSpace = Float32Array.from(grey, (pixel) => pixel / 127.5 - 1);
      const fromPixels = await scoreImages(evaluator, modelSpace, classes(12), reference);
      expect(await scoreImages(evaluator, stored(greyPngs(grey, 8)), classes(12), reference)).toEqual(fromPixels);
    } finally {
      await evaluator.release();
    }
  });

  it('name the sample whose PNG is damaged or of another size, and the worker scores the next request', async () => {
    const evaluator = await openedEvaluator();
    try {
      const reference = await loadReference(evaluator);
      const pngs = greyPngs(pixels(10, 4), 8);
      const damaged = [...pngs];
      damaged[3] = pngs[3]!.subarray(0, 40);
      await expect(scoreImages(evaluator, stored(damaged), classes(10), reference)).rejects.toThrow(/^Sample 103 of the evaluation has an image that cannot be read \(.+\); delete it and run the evaluation again\.$/);
      const resized = [...pngs];
      resized[5] = greyPngs(pixels(1, 4).subarray(0, 16), 4)[0]!;
      await expect(scoreImages(evaluator, stored(resized), classes(10), reference)).rejects.toThrow('Sample 105 is 4×4 but the model makes 8×8 images.');
      expect((await scoreImages(evaluator, stored(pngs), classes(10), reference)).sampleCount).toBe(10);
    } finally {
      await evaluator.release();
    }
  });
});

describe('bad requests to the inference worker get a sentence, and the worker stays up', () => {
  it('images that do not fit the model', async () => {
    const evaluator = await openedEvaluator();
    try {
      const reference = await loadReference(evaluator);
      await expect(evaluator.score(images(10, 1).subarray(0, 630), classes(10))).rejects.toThrow('The evaluator needs 10 images of 1×8×8 values, got 630 values.');
      expect((await scoreImages(evaluator, images(10, 1), classes(10), reference)).sampleCount).toBe(10);
    } finally {
      await evaluator.release();
    }
  });

  it('too few images for precision and recall', async () => {
    const evaluator = await openedEvaluator();
    try {
      const reference = await loadReference(evaluator);
      await expect(scoreImages(evaluator, images(3, 1), classes(3), reference)).rejects.toThrow(/needs more than 3 images .* got 3/);
    } finally {
      await evaluator.release();
    }
  });

  it('an evaluator used after it was released', async () => {
    const evaluator = await openedEvaluator();
    await evaluator.release();
    await expect(evaluator.score(images(10, 1), classes(10))).rejects.toThrow(/is not open in the inference worker; open the model's evaluator again/);
    await expect(evaluator.release()).resolves.toBeUndefined();
  });

  it('a model without an evaluator', async () => {
    await expect(engine.openEvaluator(MODEL_WITHOUT_EVALUATOR)).rejects.toThrow(/has no evaluator network, so its samples cannot be scored\. Export one/);
    expect((await engine.workerSessionCensus()).isMainThread).toBe(false);
  });

  it('a studio whose linear-algebra graph files are missing', async () => {
    const emptyDir = mkdtempSync(path.join(tmpdir(), 'gds-no-graphs-'));
    const broken = createEngine({ modelFolders: [EVALUATED_MODEL], threads: 1, linalgGraphsDir: emptyDir });
    try {
      const evaluator = await broken.openEvaluator(EVALUATED_MODEL, { provider: 'cpu' });
      await expect(evaluator.prepareReference()).rejects.toThrow(/The studio's \w+ graph is missing \(.*ENOENT\)\. Reinstall the studio/);
      // The evaluator itself still works: only the metrics need the graphs.
      expect((await evaluator.evaluate(images(4, 2), 4)).features.count).toBe(4);
    } finally {
      await broken.close();
      rmSync(emptyDir, { recursive: true, force: true });
    }
  });
});
