import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodePng, type RgbaImage } from '../../../electron/png/image';
import type { ModelManifest } from '../../../common/models/manifest';
import type { RunRequest } from '../../../common/contract/run-request';

export const NOISE_ALGORITHM = 'philox4x32-10';
export const APP_VERSION = '0.1.0';

/** A valid model manifest of a small class-conditional model; file hashes are made up. */
export function testManifest(id = 'tiny-test', classCount = 10, imageSize = 32): ModelManifest {
  const names = Array.from({ length: classCount }, (_, i) => (i === 7 ? 'Sneaker' : `Class ${i}`));
  return {
    format: 1,
    id,
    name: `Tiny test model ${id}`,
    source: 'test fixture',
    license: 'MIT',
    image: { size: imageSize, channels: 3 },
    classes: { count: classCount, names, synonyms: names.map(() => []), null_class: classCount },
    diffusion: { steps: 1000, noise_schedule: 'cosine', learn_sigma: true, predict: 'eps', rescale_timesteps: false },
    unet: { file: 'unet.onnx', fp16_file: null, class_cond: true, inputs: { x: 'x', t: 't', y: 'y' }, output: 'out', batch: 'dynamic' },
    classifier: null,
    evaluator: null,
    defaults: { mode: 'conditional', sampler: 'ddim', steps: 'ddim25', scale: 4, eta: 0 },
    files: { 'unet.onnx': 'a'.repeat(64) },
  };
}

export function testRequest(overrides: Partial<RunRequest> = {}): RunRequest {
  return {
    modelId: 'tiny-test',
    classIndex: 7,
    mode: 'conditional',
    scale: 4,
    sampler: 'ddim',
    steps: 'ddim25',
    eta: 0,
    clipDenoised: true,
    seeds: [1, 2, 3, 4],
    batchSize: 4,
    provider: 'cpu',
    ...overrides,
  };
}

/** A deterministic colourful test image (a gradient keyed by `seed`). */
export function testImage(size: number, seed = 0): RgbaImage {
  const data = new Uint8Array(size * size * 4);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const i = (y * size + x) * 4;
      data[i] = (x * 7 + seed) & 255;
      data[i + 1] = (y * 13 + seed * 3) & 255;
      data[i + 2] = (x * y + seed * 5) & 255;
      data[i + 3] = 255;
    }
  }
  return { width: size, height: size, data };
}

export function testPng(size: number, seed = 0): Uint8Array {
  return encodePng(testImage(size, seed));
}

/** A fresh temporary folder, removed by the returned function. */
export function temporaryFolder(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'gds-gallery-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
