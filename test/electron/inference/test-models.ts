/** The small generated model folders the engine tests run on (test/fixtures/linear-8px, made by its make_test_models.py). */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunRequest } from '../../../common/contract/run-request';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures');
/** The engine test models: linear-8px (the model every engine test runs) and nan-below-t40 (a UNet that returns NaN below t = 40). */
export const TEST_MODEL_FOLDERS = [path.join(FIXTURES, 'linear-8px'), path.join(FIXTURES, 'nan-below-t40')];
export const LINEAR_MODEL = path.join(FIXTURES, 'linear-8px');

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
