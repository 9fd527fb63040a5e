/** The run view's state: a new run never shows the last one's figures, and a restart is read back from the queue. */
import { describe, expect, it } from 'vitest';
import type { QueueEntry } from '../../../common/contract/queue';
import type { StudioApi } from '../../../common/contract/studio-api';
import { RunState } from '../../../renderer/src/state/run.svelte';

/** The two calls a run makes; every other method is absent, so calling one fails the test. */
function serviceWithJobs(): StudioApi {
  let nextJob = 1;
  return {
    startRun: async () => ({ jobId: nextJob++ }),
    cancelRun: async () => true,
  } as unknown as StudioApi;
}

const request = {
  modelId: 'm', classIndex: 1, mode: 'conditional' as const, scale: 4, sampler: 'ddim' as const, steps: 'ddim10', eta: 0, clipDenoised: true, seeds: [1, 2], batchSize: 2, provider: 'auto' as const,
};

function entry(jobId: number, status: QueueEntry['status'], error: string | null = null): QueueEntry {
  return { jobId, kind: 'run', status, label: '', sweepId: null, runId: 1, evaluationId: null, doneSamples: 0, totalSamples: 2, error, createdAt: 0 };
}

function step(jobId: number) {
  return { type: 'step' as const, jobId, sweepId: null, step: 7, totalSteps: 10, batchIndex: 0, batchCount: 1, stepsPerSecond: 663, secondsLeft: 12, previews: [] };
}

describe('RunState', () => {
  it('starts a new run with no step, rate or time left from the one before', async () => {
    const run = new RunState(serviceWithJobs());
    await run.start(request, false);
    run.handle(step(1));
    run.handle({ type: 'finished', jobId: 1, sweepId: null, status: 'completed', message: null, sampleCount: 2 });
    expect(run.stepsPerSecond).toBe(663);
    await run.start(request, false);
    expect([run.phase, run.step, run.totalSteps, run.stepsPerSecond, run.secondsLeft]).toEqual(['running', 0, 0, 0, 0]);
  });

  it('after a restart, follows a run the queue still holds and says when the queue waits', async () => {
    const run = new RunState(serviceWithJobs());
    await run.start(request, false);
    run.handle(step(1));
    run.restore([entry(1, 'queued')]);
    expect(run.phase).toBe('running');
    expect(run.stepsPerSecond).toBe(0);
    expect(run.message).toMatch(/waits in the queue/);
  });

  it('after a restart, shows how a run the queue ended ended, and a run it lost as stopped by the restart', async () => {
    const run = new RunState(serviceWithJobs());
    await run.start(request, false);
    await run.cancel();
    expect(run.phase).toBe('cancelling');
    run.restore([entry(1, 'completed')]);
    expect(run.phase).toBe('completed');

    const lost = new RunState(serviceWithJobs());
    await lost.start(request, false);
    lost.restore([]);
    expect(lost.phase).toBe('interrupted');
    expect(lost.message).toMatch(/Finish run/);
  });

  it('reads a run the shutting-down studio stopped and put back in the queue as going on, not as cancelled', async () => {
    const run = new RunState(serviceWithJobs());
    await run.start(request, false);
    run.handle({ type: 'finished', jobId: 1, sweepId: null, status: 'cancelled', message: null, sampleCount: 0 });
    expect(run.phase).toBe('cancelled');
    run.restore([entry(1, 'running')]);
    expect(run.phase).toBe('running');
  });

  it('keeps a run this page cancelled as cancelled after a restart', async () => {
    const run = new RunState(serviceWithJobs());
    await run.start(request, false);
    await run.cancel();
    run.handle({ type: 'finished', jobId: 1, sweepId: null, status: 'cancelled', message: null, sampleCount: 0 });
    run.restore([entry(1, 'cancelled')]);
    expect(run.phase).toBe('cancelled');
  });
});
