/**
 * evaluate --cfg, --schedule and --sampler dpmpp2m: the evaluation's spec carries them, every run
 * it draws carries them into the gallery file, and the DDIM guidance trap and --cfg with a mode
 * that does not read it are refused with a sentence before anything is drawn.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RecordedRunRequest } from '../../../common/contract/run-request';
import { runEvaluateCommand, type EvaluateCommandOptions } from '../../../electron/cli/commands/evaluate';

const EVALUATED_MODEL = path.join(import.meta.dirname, '..', '..', 'fixtures', 'evaluation-models', 'evaluated-8px');

let data: string;
beforeAll(async () => {
  data = await mkdtemp(path.join(tmpdir(), 'gds-evaluate-lab-'));
});
afterAll(() => rm(data, { recursive: true, force: true }));

function options(overrides: Partial<EvaluateCommandOptions>): EvaluateCommandOptions {
  return {
    model: EVALUATED_MODEL, classes: '0,2', scales: [2], samples: 4, data, provider: 'cpu', threads: 1, unetPrecision: 'auto', batch: 4, seedOffset: 0,
    json: false, progress: false, ...overrides,
  };
}

describe('evaluate with the guidance lab', () => {
  it('draws every run of the evaluation with the weight, the schedule and DPM-Solver++', async () => {
    const record = await runEvaluateCommand(options({ cfg: 3, mode: 'classifier-free+classifier', sampler: 'dpmpp2m', steps: 'ddim5', schedule: { kind: 'ramp', from: 1, to: 0.5 } }));
    expect(record.status).toBe('completed');
    expect(record.spec).toMatchObject({ mode: 'classifier-free+classifier', cfgScale: 3, sampler: 'dpmpp2m', guidanceSchedule: { kind: 'ramp', from: 1, to: 0.5 } });
    expect(record.results).toHaveLength(1);
    const gallery = new Database(path.join(data, 'gallery.sqlite'), { readonly: true, fileMustExist: true });
    try {
      const requests = (gallery.prepare('SELECT request FROM runs').all() as { request: string }[]).map((row) => RecordedRunRequest.parse(JSON.parse(row.request)));
      expect(requests.length).toBeGreaterThan(0);
      for (const request of requests) {
        expect(request).toMatchObject({ mode: 'classifier-free+classifier', cfgScale: 3, sampler: 'dpmpp2m', scale: 2, guidanceSchedule: { kind: 'ramp', from: 1, to: 0.5 } });
      }
    } finally {
      gallery.close();
    }
  });

  it.each([
    [{ sampler: 'ddim' as const, steps: '5', mode: 'unconditional+classifier' as const }, /DDIM with plain respacing '5' starts at t = 99 where .* use 'ddim5'\./],
    [{ cfg: 2, mode: 'conditional' as const }, '--cfg 2 is read only in the modes "classifier-free" and "classifier-free+classifier", not in "conditional".'],
  ])('refuses %o with a sentence', async (overrides, message) => {
    await expect(runEvaluateCommand(options(overrides))).rejects.toThrow(message);
  });
});
