/** The studio (openStudio, the one composition root) on a real gallery file in a temporary folder and a real ONNX model. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { RunRequest } from '../../../common/contract/run-request';
import type { RunEvent } from '../../../common/contract/studio-api';
import { openStudio as openStudioRoot, type Studio } from '../../../electron/service/open-studio';
import { LINEAR_MODEL, request as engineRequest } from '../inference/test-models';

export const testModelFolder = LINEAR_MODEL;

export interface StudioFixture {
  service: Studio;
  dataDir: string;
  events: RunEvent[];
  /** Resolves with the job's events once its `finished` event arrives. */
  finished(jobId: number): Promise<RunEvent[]>;
  close(): Promise<void>;
}

/** The engine tests' request on the linear test model, with seeds of its own. */
export function request(overrides: Partial<RunRequest> = {}): RunRequest {
  return engineRequest({ seeds: [11, 12, 13], ...overrides });
}

export function openStudio(dataDir = mkdtempSync(path.join(tmpdir(), 'gds-service-')), modelDirs: string[] = [testModelFolder]): StudioFixture {
  const service = openStudioRoot({ dataDir, modelDirs, threads: 1 });
  const events: RunEvent[] = [];
  const waiters: { jobId: number; resolve: (events: RunEvent[]) => void }[] = [];
  service.onRunEvent((event) => {
    events.push(event);
    if (event.type !== 'finished') return;
    for (const waiter of waiters.filter((candidate) => candidate.jobId === event.jobId)) {
      waiter.resolve(events.filter((candidate) => candidate.jobId === event.jobId));
    }
  });
  return {
    service,
    dataDir,
    events,
    finished: (jobId) => {
      const done = events.find((event) => event.jobId === jobId && event.type === 'finished');
      if (done) return Promise.resolve(events.filter((event) => event.jobId === jobId));
      return new Promise((resolve) => waiters.push({ jobId, resolve }));
    },
    close: () => service.close(),
  };
}

export function removeFolder(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
