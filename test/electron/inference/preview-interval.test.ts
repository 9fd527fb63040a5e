import { afterAll, describe, expect, it } from 'vitest';
import { createEngine, type ProgressEvent } from '../../../electron/inference';
import { TEST_MODEL_FOLDERS, request } from './test-models';

const engine = createEngine({ modelFolders: TEST_MODEL_FOLDERS, threads: 1 });
afterAll(() => engine.close());

/** [batch, step] of each progress event that carried previews. */
async function previewedSteps(options: { previewEvery?: number; previewIntervalMs?: number }): Promise<{ previewed: number[][]; events: number }> {
  const events: ProgressEvent[] = [];
  await engine.sample(request({ seeds: [1, 2, 3, 4], batchSize: 2, steps: 'ddim10' }), { ...options, onProgress: (event) => events.push(event) });
  return { previewed: events.filter((event) => event.previews.length > 0).map((event) => [event.batch, event.step]), events: events.length };
}

describe('previews are made in the worker at the asked rate', () => {
  it('with a long interval, only the first and last step of each batch carry previews; every step is still reported', async () => {
    const { previewed, events } = await previewedSteps({ previewIntervalMs: 3_600_000 });
    expect(previewed).toEqual([
      [0, 0],
      [0, 9],
      [1, 0],
      [1, 9],
    ]);
    expect(events).toBe(20);
  });

  it('without an interval, every scheduled step carries previews of each sample of the batch', async () => {
    const { previewed } = await previewedSteps({ previewEvery: 1 });
    expect(previewed).toHaveLength(20);
    const { previewed: everyThird } = await previewedSteps({ previewEvery: 3, previewIntervalMs: 0 });
    expect(everyThird.map(([, step]) => step)).toEqual([0, 3, 6, 9, 0, 3, 6, 9]);
  });

  it('with previews turned off, only the last step of each batch carries them, whatever the interval', async () => {
    const { previewed } = await previewedSteps({ previewEvery: 0, previewIntervalMs: 100 });
    expect(previewed).toEqual([
      [0, 9],
      [1, 9],
    ]);
  });
});
