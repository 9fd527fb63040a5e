import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine, type UnetPrecision } from '../../../electron/inference';
import { wantsFp16 } from '../../../electron/inference/loaded-model';
import { LINEAR_MODEL, request } from './test-models';

/** The built-in model ships a float16 UNet graph beside the float32 one. */
const BUILTIN = path.join(import.meta.dirname, '..', '..', '..', 'models', 'fashion-mnist');

const engines: Engine[] = [];
afterAll(() => Promise.all(engines.map((engine) => engine.close())));

function engineWith(unetPrecision: UnetPrecision): Engine {
  const engine = createEngine({ modelFolders: [BUILTIN, LINEAR_MODEL], threads: 1, unetPrecision });
  engines.push(engine);
  return engine;
}

const builtinRequest = request({
  modelId: 'fashion-mnist',
  classIndex: 7,
  mode: 'conditional',
  scale: 0,
  sampler: 'ddim',
  steps: 'ddim5',
  seeds: [3, 4],
  batchSize: 2,
  provider: 'cpu',
});

describe('UNet precision', () => {
  it('"auto" asks for float16 on GPU providers only', () => {
    for (const provider of ['cuda', 'dml', 'coreml', 'webgpu'] as const) {
      expect(wantsFp16('auto', provider)).toBe(true);
      expect(wantsFp16('fp32', provider)).toBe(false);
    }
    expect(wantsFp16('auto', 'cpu')).toBe(false);
    expect(wantsFp16('fp16', 'cpu')).toBe(true);
  });

  it('"auto" keeps the float32 graph on the CPU; "fp16" runs the float16 graph, close to it', async () => {
    const auto = engineWith('auto');
    const half = engineWith('fp16');
    expect((await auto.loadModel('fashion-mnist', 'cpu')).unetPrecision).toBe('fp32');
    expect((await half.loadModel('fashion-mnist', 'cpu')).unetPrecision).toBe('fp16');

    const full = await auto.sample(builtinRequest);
    const reduced = await half.sample(builtinRequest);
    let largest = 0;
    let differing = 0;
    full.samples.forEach((sample, index) => {
      const other = reduced.samples[index]!.image;
      sample.image.forEach((value, i) => {
        largest = Math.max(largest, Math.abs(value - other[i]!));
        if (value !== other[i]) differing++;
      });
    });
    // float16 weights move the pixels a little, never the picture.
    expect(differing).toBeGreaterThan(0);
    expect(largest).toBeLessThan(0.05);
  });

  it('falls back to float32 for a model without a float16 graph', async () => {
    const info = await engineWith('fp16').loadModel('linear-8px', 'cpu');
    expect(info.unetPrecision).toBe('fp32');
  });
});
