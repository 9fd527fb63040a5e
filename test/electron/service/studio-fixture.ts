/** The studio (openStudio, the one composition root) on a real gallery file in a temporary folder and a real ONNX model. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import type { SampleRecord } from '../../../common/contract/gallery';
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

/**
 * One studio shared by every test of a file: opened before the first test, closed and its
 * folder removed after the last. The fields read through to that studio, so they are only
 * there inside a test.
 */
export function studioForThisFile(): StudioFixture {
  let studio: StudioFixture | undefined;
  beforeAll(() => {
    studio = openStudio();
  });
  afterAll(async () => {
    if (!studio) return;
    await studio.close();
    removeFolder(studio.dataDir);
  });
  const opened = (): StudioFixture => {
    if (!studio) throw new Error('The shared studio opens before the first test; use it inside a test or a hook.');
    return studio;
  };
  return {
    get service() {
      return opened().service;
    },
    get dataDir() {
      return opened().dataDir;
    },
    get events() {
      return opened().events;
    },
    finished: (jobId) => opened().finished(jobId),
    close: () => opened().close(),
  };
}

/** The samples a run's events announced, in the order they came. */
export function samplesOf(events: RunEvent[]): SampleRecord[] {
  return events.flatMap((event) => (event.type === 'sample' ? [event.sample] : []));
}
