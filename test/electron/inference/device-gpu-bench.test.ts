import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { readBackGraphFile, sourceStepGraphsDir } from '../../../electron/inference/step-graph-files';

const REPO = path.resolve(import.meta.dirname, '..', '..', '..');
// The CUDA probe is expected to fail on most machines; its log line would only be noise.
ort.env.logLevel = 'fatal';

async function cudaOpens(): Promise<boolean> {
  try {
    const session = await ort.InferenceSession.create(await readFile(readBackGraphFile(sourceStepGraphsDir())), { executionProviders: ['cuda'], logSeverityLevel: 4 });
    await session.release();
    return true;
  } catch {
    return false;
  }
}

const cudaHere = await cudaOpens();

describe('the GPU step benchmark', () => {
  it.skipIf(cudaHere)('on a machine without CUDA says why, on one line, and exits 0', async () => {
    const { stdout } = await promisify(execFile)(path.join(REPO, 'node_modules', '.bin', 'tsx'), ['bench/gpu-step.ts', '--batch', '1', '--repeats', '1', '--no-compile'], { cwd: REPO, timeout: 300_000 });
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^unavailable: .*CUDA.*; onnxruntime-node has no CUDA provider here: \S/);
  }, 300_000);

  it('refuses a batch size that is not a positive integer with the form to use', async () => {
    const failure = await promisify(execFile)(path.join(REPO, 'node_modules', '.bin', 'tsx'), ['bench/gpu-step.ts', '--batch', '0,16'], { cwd: REPO, timeout: 120_000 }).catch((error: unknown) => error as { code: number; stderr: string });
    expect(failure).toMatchObject({ code: 2 });
    expect((failure as { stderr: string }).stderr).toMatch(/--batch takes positive integers separated by commas \(1,16,64\)/);
  }, 120_000);
});
