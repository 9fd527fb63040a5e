import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, readFile, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createEngine, type ProgressEvent } from '../../../electron/inference';
import { loadModel } from '../../../electron/inference/loaded-model';
import { openModelFolder } from '../../../electron/inference/model-folder';
import { LINEAR_MODEL, TEST_MODEL_FOLDERS, copyModel, request } from './test-models';
import { findModelFolders } from '../../../electron/service/model-folders';

const engine = createEngine({ modelFolders: TEST_MODEL_FOLDERS, threads: 1 });
afterAll(() => engine.close());

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

describe('engine with a real ONNX model folder', () => {
  it('lists the model folders and opens one on the CPU provider', async () => {
    const ids = (await engine.listModels()).map((model) => model.id);
    expect(ids).toEqual(['linear-8px', 'nan-below-t40']);
    const info = await engine.loadModel('linear-8px', 'cpu');
    expect(info.provider).toBe('cpu');
    expect(info.fallbacks).toEqual([]);
  });

  it('names the model folders it leaves out and why: a broken manifest, an id already taken', async () => {
    const modelsDir = await mkdtemp(path.join(tmpdir(), 'gds-models-'));
    try {
      await cp(LINEAR_MODEL, path.join(modelsDir, 'a-linear'), { recursive: true });
      await cp(LINEAR_MODEL, path.join(modelsDir, 'b-linear-copy'), { recursive: true });
      await mkdir(path.join(modelsDir, 'c-broken'));
      await writeFile(path.join(modelsDir, 'c-broken', 'manifest.json'), '{"format": 1, "id": ');
      await mkdir(path.join(modelsDir, 'd-not-a-model'));
      const scanning = createEngine({ modelFolders: findModelFolders([modelsDir]), threads: 1 });
      try {
        const scan = await scanning.scanModels();
        expect(scan.models.map((model) => [model.id, path.basename(model.dir)])).toEqual([['linear-8px', 'a-linear']]);
        expect(scan.problems.map((problem) => path.basename(problem.folder))).toEqual(['b-linear-copy', 'c-broken']);
        expect(scan.problems[0]!.message).toMatch(/id "linear-8px" is already taken by .*a-linear/);
        expect(scan.problems[1]!.message).toMatch(/not valid JSON.*Re-export the model/);
        expect((await scanning.listModels()).map((model) => model.id)).toEqual(['linear-8px']);
      } finally {
        await scanning.close();
      }
    } finally {
      await rm(modelsDir, { recursive: true, force: true });
    }
  });

  it('reports the provider that really runs when "auto" falls back', async () => {
    const info = await engine.loadModel('linear-8px', 'auto');
    expect(['cpu', 'cuda', 'webgpu', 'dml', 'coreml']).toContain(info.provider);
    if (info.provider === 'cpu') expect(info.fallbacks.length).toBeGreaterThan(0);
    for (const attempt of info.fallbacks) expect(attempt.error.length).toBeGreaterThan(0);
  });

  it('samples every seed with previews, probabilities and trajectories', async () => {
    const events: ProgressEvent[] = [];
    const result = await engine.sample(request({ seeds: [1, 2, 3, 4, 5], batchSize: 2 }), { trajectory: true, onProgress: (event) => events.push(event) });
    expect(result.provider).toBe('cpu');
    expect(result.samples.map((sample) => sample.seed)).toEqual([1, 2, 3, 4, 5]);
    expect(events).toHaveLength(3 * 10);
    const first = events[0] as ProgressEvent;
    expect(first.t).toBe(90);
    expect(first.previews).toHaveLength(2);
    expect(first.previews[0]?.rgba).toHaveLength(8 * 8 * 4);
    expect(first.classProbability?.every((p) => p > 0 && p < 1)).toBe(true);
    const sample = result.samples[0];
    expect(sample?.pixels).toHaveLength(64);
    expect(sample?.trajectory?.xt).toHaveLength(10 * 64);
    expect([...(sample?.trajectory?.t ?? [])]).toEqual([90, 80, 70, 60, 50, 40, 30, 20, 10, 0]);
    // The last trajectory step is the returned image.
    expect(sample?.trajectory?.xt.subarray(9 * 64)).toEqual(sample?.image);
    expect(result.timings.unetCalls).toBe(30);
    expect(result.timings.classifierCalls).toBe(30);
  });

  it('gives the same image for a seed alone, in any batch, and on every run', async () => {
    const batched = await engine.sample(request({ sampler: 'ddpm', steps: '20', seeds: [10, 11, 12, 13], batchSize: 4 }));
    const alone = await engine.sample(request({ sampler: 'ddpm', steps: '20', seeds: [12], batchSize: 1 }));
    const again = await engine.sample(request({ sampler: 'ddpm', steps: '20', seeds: [12], batchSize: 1 }));
    const inBatch = batched.samples.find((sample) => sample.seed === 12)?.image as Float32Array;
    const single = alone.samples[0]?.image as Float32Array;
    expect(again.samples[0]?.image).toEqual(single);
    for (let i = 0; i < single.length; i++) expect(Math.abs((inBatch[i] as number) - (single[i] as number))).toBeLessThan(1e-5);
  });

  it('replays supplied noise exactly', async () => {
    const seeded = await engine.sample(request({ sampler: 'ddpm', steps: '5', seeds: [3, 4], batchSize: 2 }), { trajectory: true });
    const initial = new Float32Array(2 * 64);
    seeded.samples.forEach((sample, k) => initial.set(sample.trajectory?.initial as Float32Array, k * 64));
    const { seededNoise } = await import('../../../common/diffusion/rng');
    const steps = new Float32Array(5 * 2 * 64);
    for (let step = 0; step < 5; step++) seededNoise([3, 4]).step(steps.subarray(step * 128, (step + 1) * 128), step);
    const replayed = await engine.sample(request({ sampler: 'ddpm', steps: '5', seeds: [0, 0], batchSize: 1 }), { noise: { initial, steps } });
    expect(replayed.samples.map((sample) => sample.image)).toEqual(seeded.samples.map((sample) => sample.image));
  });

  it('stops when cancelled and reports no step after the cancel', async () => {
    const controller = new AbortController();
    let eventsAfterAbort = 0;
    let events = 0;
    const seeds = Array.from({ length: 20 }, (_, k) => k);
    const run = engine.sample(request({ sampler: 'ddpm', steps: '100', seeds, batchSize: 1 }), {
      signal: controller.signal,
      onProgress: () => {
        events += 1;
        if (controller.signal.aborted) eventsAfterAbort += 1;
        if (events === 3) controller.abort();
      },
    });
    await expect(run).rejects.toThrow('Sampling was cancelled.');
    expect(eventsAfterAbort).toBe(0);
    expect(events).toBe(3);
  });
});

describe('engine errors a user can meet', () => {
  it.each([
    [{ classIndex: 3 }, /Class 3 is out of range: "Test model linear-8px" has classes 0 to 2/],
    [{ steps: '0' }, /Steps "0" cannot be used with this model \(T = 100\)/],
    [{ steps: '101' }, /101 steps is more than the 100/],
    [{ steps: 'ddim0' }, /between 1 and 100/],
    [{ scale: Number.NaN }, /guidance scale must be a number of 0 or more, got NaN/],
    [{ scale: -1 }, /guidance scale must be a number of 0 or more, got -1/],
    [{ modelId: 'nope' }, /No model with id "nope" was found. Available models: "linear-8px", "nan-below-t40"/],
  ])('rejects %o with a sentence', async (overrides, message) => {
    await expect(engine.sample(request(overrides))).rejects.toThrow(message);
  });

  it('stops when x becomes NaN and says at which step', async () => {
    // The UNet returns NaN below t = 40: ddim10 visits 90, 80, …, so the 7th step (t = 30) diverges.
    await expect(engine.sample(request({ modelId: 'nan-below-t40' }))).rejects.toThrow(/NaN or infinite at step 7 \(timestep 30\) in sample 1/);
  });

  // Folder and graph checks run in-process here (the worker reports the same errors).
  it('refuses a damaged ONNX file whose sha256 no longer matches', async () => {
    const copy = await copyModel(LINEAR_MODEL);
    try {
      await writeFile(path.join(copy.dir, 'unet.onnx'), (await readFile(path.join(copy.dir, 'unet.onnx'))).subarray(0, 100));
      await expect(loadModel(copy.dir, 'cpu', 1)).rejects.toThrow(/unet.onnx in .* is damaged or was changed: its sha256 is [0-9a-f]{64} but the manifest expects/);
    } finally {
      await copy.remove();
    }
  });

  it('says an ONNX file cannot be opened when its bytes are not a model', async () => {
    const copy = await copyModel(LINEAR_MODEL);
    try {
      const garbage = new TextEncoder().encode('this is not an onnx model');
      await writeFile(path.join(copy.dir, 'unet.onnx'), garbage);
      (copy.manifest.files as Record<string, string>)['unet.onnx'] = sha256(garbage);
      await copy.saveManifest();
      await expect(loadModel(copy.dir, 'cpu', 1)).rejects.toThrow(/unet\.onnx is damaged \(not an ONNX model: its bytes are not a protobuf message .*\): re-export or re-convert the model/);
    } finally {
      await copy.remove();
    }
  });

  it('says when the manifest names inputs the graph does not have', async () => {
    const copy = await copyModel(LINEAR_MODEL);
    try {
      (copy.manifest.unet as { inputs: { x: string } }).inputs.x = 'image';
      await copy.saveManifest();
      await expect(loadModel(copy.dir, 'cpu', 1)).rejects.toThrow(
        /UNet graph and its manifest disagree: the manifest's x input "image" is not in the graph; the graph needs an input "x" the manifest does not name. The graph takes x float32 \[B, 1, 8, 8\], t int64 \[B\], y int64 \[B\]/,
      );
    } finally {
      await copy.remove();
    }
  });

  it('refuses symbolic links and paths that leave the folder', async () => {
    const copy = await copyModel(LINEAR_MODEL);
    try {
      await unlink(path.join(copy.dir, 'classifier_grad.onnx'));
      await symlink(path.join(LINEAR_MODEL, 'classifier_grad.onnx'), path.join(copy.dir, 'classifier_grad.onnx'));
      await expect(openModelFolder(copy.dir)).rejects.toThrow(/classifier_grad.onnx is a symbolic link/);
      (copy.manifest.classifier as { file: string }).file = '../linear-8px/classifier_grad.onnx';
      await copy.saveManifest();
      await expect(openModelFolder(copy.dir)).rejects.toThrow(/classifier.file: must be a plain file name inside the model folder/);
    } finally {
      await copy.remove();
    }
  });
});
