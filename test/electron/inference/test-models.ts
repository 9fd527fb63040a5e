/** The small generated model folders the engine tests run on (see models/make_test_models.py). */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunRequest } from '../../../common/contract/run-request';

export const TEST_MODELS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'models');
export const LINEAR_MODEL = path.join(TEST_MODELS_DIR, 'linear-8px');

export function request(overrides: Partial<RunRequest> = {}): RunRequest {
  return {
    modelId: 'linear-8px',
    classIndex: 1,
    mode: 'unconditional+classifier',
    scale: 2,
    sampler: 'ddim',
    steps: 'ddim10',
    eta: 0,
    clipDenoised: true,
    seeds: [1, 2, 3],
    batchSize: 3,
    provider: 'cpu',
    ...overrides,
  };
}

/** A writable copy of a model folder; `edit` may change its files and manifest. */
export async function copyModel(source: string): Promise<{ dir: string; manifest: Record<string, unknown>; saveManifest(): Promise<void>; remove(): Promise<void> }> {
  const root = await mkdtemp(path.join(tmpdir(), 'gds-model-'));
  const dir = path.join(root, path.basename(source));
  await cp(source, dir, { recursive: true });
  const manifest = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8')) as Record<string, unknown>;
  return {
    dir,
    manifest,
    saveManifest: () => writeFile(path.join(dir, 'manifest.json'), JSON.stringify(manifest)),
    remove: () => rm(root, { recursive: true, force: true }),
  };
}
