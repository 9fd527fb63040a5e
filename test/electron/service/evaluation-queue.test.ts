/**
 * Evaluations are queue entries like runs: one waits behind a run, shows its progress in the
 * queue, and one stopped by closing the studio carries on after a restart from the samples
 * and scales it has. Real gallery file, real ONNX models with an evaluator.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { EvaluationSpec } from '../../../common/contract/evaluation';
import { openStudio, type Studio } from '../../../electron/service/open-studio';
import { request } from '../inference/test-models';
import { EVALUATED_MODEL, quickEvaluationSpec } from '../metrics/evaluation-fixture';

const spec: EvaluationSpec = { ...quickEvaluationSpec, eta: 0, seedOffset: 0 };

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function studioIn(dataDir: string): Studio {
  const studio = openStudio({ dataDir, modelDirs: [EVALUATED_MODEL], threads: 1, appVersion: 'test', evaluation: { provider: 'cpu', batchSize: 4 } });
  cleanups.push(() => studio.close());
  return studio;
}

function dataFolder(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'gds-evaluation-queue-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe('an evaluation in the queue', () => {
  it('waits behind a run, then runs to its results, its entry counting the samples', async () => {
    const studio = studioIn(dataFolder());
    await studio.pauseQueue();
    const { jobId: runJob } = await studio.startRun({ request: request({ modelId: 'evaluated-8px', seeds: [1, 2, 3, 4], batchSize: 1 }), recordTrajectory: false });
    const record = await studio.startEvaluation(spec);
    const queued = studio.queue.view().entries;
    expect(queued.map((entry) => [entry.kind, entry.status])).toEqual([
      ['run', 'paused'],
      ['evaluation', 'paused'],
    ]);
    expect(queued[1]).toMatchObject({ evaluationId: record.id, totalSamples: 24, doneSamples: 0 });
    await studio.resumeQueue();
    await studio.queue.whenIdle();
    const done = studio.queue.view().entries;
    expect(done.find((entry) => entry.jobId === runJob)?.status).toBe('completed');
    expect(done.find((entry) => entry.kind === 'evaluation')).toMatchObject({ status: 'completed', doneSamples: 24 });
    expect(studio.evaluations.getEvaluation(record.id).results.map((result) => result.sampleCount)).toEqual([12, 12]);
  });

  it('carries on after the studio is closed mid-way, keeping the samples and scales it had', async () => {
    const dataDir = dataFolder();
    const first = studioIn(dataDir);
    const record = await first.startEvaluation(spec);
    await new Promise<void>((resolve) =>
      first.evaluations.onEvaluationEvent((event) => {
        if (event.type === 'progress' && event.phase === 'sampling' && event.doneSamples >= 16) resolve();
      }),
    );
    await first.close();

    const second = studioIn(dataDir);
    // Read before the reopened queue starts its first entry.
    const stopped = second.evaluations.getEvaluation(record.id);
    expect(stopped.results.map((result) => result.scale)).toEqual([0]);
    await second.queue.whenIdle();
    const resumed = second.evaluations.getEvaluation(record.id);
    expect(resumed.status, resumed.error ?? '').toBe('completed');
    expect(resumed.results.map((result) => [result.scale, result.sampleCount])).toEqual([
      [0, 12],
      [4, 12],
    ]);
    // The first scale's figures were kept, not computed again.
    expect(resumed.results[0]).toEqual(stopped.results[0]);
    expect(second.queue.view().entries.map((entry) => [entry.kind, entry.status])).toEqual([['evaluation', 'completed']]);
  });

  it('is cancelled by its job id like a run, before it starts, and then reads as cancelled', async () => {
    const studio = studioIn(dataFolder());
    await studio.pauseQueue();
    const record = await studio.startEvaluation(spec);
    const [entry] = studio.queue.view().entries;
    expect(await studio.cancelRun({ jobId: entry!.jobId })).toEqual({ cancelled: true });
    expect(studio.evaluations.getEvaluation(record.id).status).toBe('cancelled');
    expect(studio.queue.view().entries.map((queued) => queued.status)).toEqual(['cancelled']);
    // Resumed, it is queued again as a new entry.
    await studio.resumeQueue();
    await studio.resumeEvaluation({ evaluationId: record.id });
    await studio.queue.whenIdle();
    expect(studio.evaluations.getEvaluation(record.id).status).toBe('completed');
  });
});
