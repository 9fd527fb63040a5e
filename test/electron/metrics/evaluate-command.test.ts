import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import type { EvaluationRecord } from '../../../common/contract/evaluation';
import { evaluateCommand } from '../../../electron/cli/commands/evaluate';

const run = promisify(execFile);
const MODEL = join(import.meta.dirname, '..', '..', 'fixtures', 'evaluation-models', 'evaluated-8px');
const data = mkdtempSync(join(tmpdir(), 'gds-evaluate-cli-'));
afterAll(() => rmSync(data, { recursive: true, force: true }));

function cli(args: string[]) {
  return run('npx', ['tsx', 'electron/cli/main.ts', ...args], { cwd: join(import.meta.dirname, '..', '..', '..'), timeout: 120_000 });
}

describe('npm run cli -- evaluate', () => {
  it('runs an evaluation into the gallery and prints its record', async () => {
    const { stdout } = await cli([
      'evaluate', '--model', MODEL, '--classes', 'circle,cross', '--scales', '0,3', '--samples', '6',
      '--steps', 'ddim5', '--data', data, '--provider', 'cpu', '--threads', '1', '--json', '--no-progress',
    ]);
    const record = JSON.parse(stdout) as EvaluationRecord;
    expect(record.status).toBe('completed');
    expect(record.spec).toMatchObject({ modelId: 'evaluated-8px', classes: [0, 2], scales: [0, 3], samplesPerScale: 6, steps: 'ddim5' });
    expect(record.results.map((result) => result.sampleCount)).toEqual([6, 6]);
  });

  const inProcess = (args: string[]) =>
    evaluateCommand()
      .exitOverride()
      .configureOutput({ writeErr: () => undefined })
      .parseAsync(args, { from: 'user' });

  it('shifts the seeds by --seed-offset and prints the reference-style figures', async () => {
    const { stdout } = await cli([
      'evaluate', '--model', MODEL, '--classes', '0,2', '--scales', '0', '--samples', '6', '--seed-offset', '100',
      '--steps', 'ddim5', '--data', data, '--provider', 'cpu', '--threads', '1', '--json', '--no-progress',
    ]);
    const record = JSON.parse(stdout) as EvaluationRecord;
    expect(record.spec.seedOffset).toBe(100);
    expect(record.results[0]!.provenance).toMatchObject({ firstSeed: 100, lastSeed: 105, sampleCount: 6 });
    expect(record.results[0]!.inceptionSplitSizes).toEqual([6]);
  });

  it('prints w and the schedule above the table, and names them in the JSON record\'s provenance', async () => {
    const args = ['evaluate', '--model', MODEL, '--classes', '0,2', '--scales', '2', '--samples', '6', '--cfg', '3', '--schedule', 'interval:20-70', '--mode', 'classifier-free+classifier', '--steps', 'ddim5', '--data', data, '--provider', 'cpu', '--threads', '1', '--no-progress'];
    const table = await cli(args);
    expect(table.stdout.split('\n')[0]).toMatch(/^evaluation \d+ \(completed\) · classifier-free\+classifier · w = 3 · schedule interval:20-70 · ddim ddim5 · η 0$/);
    const record = JSON.parse((await cli([...args, '--json'])).stdout) as EvaluationRecord;
    expect(record.spec).toMatchObject({ mode: 'classifier-free+classifier', cfgScale: 3, guidanceSchedule: { kind: 'interval', tLo: 20, tHi: 70 } });
    expect(record.results[0]!.provenance).toMatchObject({ mode: 'classifier-free+classifier', cfgScale: 3, guidanceSchedule: { kind: 'interval', tLo: 20, tHi: 70 } });
  });

  it('explains a bad scale list', async () => {
    await expect(inProcess(['--model', MODEL, '--scales', '1,x', '--data', data])).rejects.toThrow(
      '--scales must be a comma-separated list of numbers',
    );
  });

  it('says when there is nothing to resume', async () => {
    await expect(inProcess(['--model', MODEL, '--resume', '99', '--data', data, '--no-progress'])).rejects.toThrow(
      'Evaluation 99 is not in the gallery',
    );
  });
});
