/**
 * A run request is planned once, when it arrives, and that plan is what the sampler runs:
 * the engine and its worker take the plan they are handed and plan nothing again.
 * Real ONNX model through onnxruntime-node, real worker.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { planRun } from '../../../common/models/run-plan';
import { createEngine } from '../../../electron/inference';
import { readManifest } from '../../../electron/inference/model-folder';
import { LINEAR_MODEL, request } from '../inference/test-models';

const engine = createEngine({ modelFolders: [LINEAR_MODEL], threads: 1 });
afterAll(() => engine.close());

describe('a planned run', () => {
  it('is sampled with the plan it carries, not one made again from its request', async () => {
    const manifest = await readManifest(LINEAR_MODEL);
    const asked = request({ seeds: [5, 6], batchSize: 2, steps: 'ddim10' });
    const plan = planRun(manifest, { ...asked, steps: 'ddim4' });
    const steps: number[] = [];
    await engine.sample(asked, { plan, previewEvery: 0, onProgress: (event) => steps.push(event.steps) });
    expect(new Set(steps)).toEqual(new Set([4]));
    expect(steps).toHaveLength(4);

    const replanned: number[] = [];
    await engine.sample(asked, { previewEvery: 0, onProgress: (event) => replanned.push(event.steps) });
    expect(replanned).toHaveLength(10);
  });
});
