/**
 * A run whose samples cannot be stored ends failed with a sentence, keeps what it stored,
 * stops the engine job and leaves the engine ready for the next run (real engine, real gallery).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { RunEvent } from '../../../common/contract/studio-api';
import type { ModelManifest } from '../../../common/models/manifest';
import { modelSha256 } from '../../../common/models/model-identity';
import { planRun } from '../../../common/models/run-plan';
import { galleryFile, openGallery, type Gallery } from '../../../electron/gallery';
import { createEngine, type Engine } from '../../../electron/inference';
import { readManifest } from '../../../electron/inference/model-folder';
import type { JobControl } from '../../../electron/service/job-queue';
import { executeRunJob, type RunJob, type RunJobContext } from '../../../electron/service/run-job';
import { copyModel, LINEAR_MODEL } from '../inference/test-models';
import { openStudio, removeFolder, request } from './studio-fixture';

let dataDir: string;
let engine: Engine;
let gallery: Gallery;
let manifest: ModelManifest;
let prepared: number;
beforeEach(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'gds-run-failures-'));
  engine = createEngine({ modelFolders: [LINEAR_MODEL], threads: 1 });
  gallery = openGallery(galleryFile(dataDir));
  manifest = await readManifest(LINEAR_MODEL);
  prepared = 0;
});
afterEach(async () => {
  await engine.close();
  gallery.close();
  removeFolder(dataDir);
});

let nextJobId = 1;
function job(overrides: Partial<RunJob> = {}): RunJob {
  const runRequest = overrides.request ?? request({ seeds: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], batchSize: 1 });
  return {
    jobId: nextJobId++,
    sweepId: null,
    request: runRequest,
    finishesRunId: null,
    recordTrajectory: false,
    plan: planRun(overrides.manifest ?? manifest, runRequest),
    manifest,
    modelDir: LINEAR_MODEL,
    samplesBefore: 0,
    ...overrides,
  };
}

function context(events: RunEvent[], storage: Gallery = gallery): RunJobContext {
  return {
    engine,
    gallery: storage,
    appVersion: '0.0.0-test',
    emit: (event) => events.push(event),
    prepareModel: async (modelId, provider) => {
      prepared++;
      const info = await engine.loadModel(modelId, provider);
      gallery.models.register(info.manifest, modelSha256(info.manifest));
      return info.provider;
    },
  };
}

/** What the queue hands a job: a signal nobody fires, and no one listening to its progress. */
function control(): JobControl {
  return { signal: new AbortController().signal, progress: () => {}, attachRun: () => {} };
}

function finishedOf(events: RunEvent[]): Extract<RunEvent, { type: 'finished' }> {
  const finished = events.find((event) => event.type === 'finished');
  if (finished?.type !== 'finished') throw new Error('the job did not finish');
  return finished;
}

describe('a sample that cannot be stored', () => {
  it('stops the engine job, fails the run with the error and keeps the samples stored before it', async () => {
    // The real gallery, except that its third sample write fails as a full disk would fail it.
    let writes = 0;
    const failing: Gallery = {
      ...gallery,
      samples: Object.assign(Object.create(gallery.samples) as Gallery['samples'], {
        add: (runId: number, sample: Parameters<Gallery['samples']['add']>[1]) => {
          if (++writes === 3) throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
          return gallery.samples.add(runId, sample);
        },
      }),
    };
    const events: RunEvent[] = [];
    await executeRunJob(job(), context(events, failing), control());

    const finished = finishedOf(events);
    expect(finished.status).toBe('failed');
    expect(finished.sampleCount).toBe(2);
    expect(finished.message).toContain(`The disk holding the data folder ${dataDir} is full`);
    expect(finished.message).toMatch(/the samples still to draw need about \d+ KB/);
    // No sample is reported after the failure: the engine job was stopped, not left running.
    expect(writes).toBe(3);
    const started = events.find((event) => event.type === 'started');
    const runId = started?.type === 'started' ? started.runId : -1;
    expect(gallery.runs.get(runId)).toMatchObject({ status: 'failed', error: finished.message, sampleCount: 2 });

    // The engine is free for the next run at once.
    const next: RunEvent[] = [];
    await executeRunJob(job({ request: request({ seeds: [21, 22], batchSize: 2 }) }), context(next), control());
    expect(finishedOf(next)).toMatchObject({ status: 'completed', sampleCount: 2 });
  });

  it('fails the run with the message of any other error thrown while storing', async () => {
    const failing: Gallery = {
      ...gallery,
      samples: Object.assign(Object.create(gallery.samples) as Gallery['samples'], {
        add: () => {
          throw new Error('The sample could not be encoded.');
        },
      }),
    };
    const events: RunEvent[] = [];
    await executeRunJob(job(), context(events, failing), control());
    expect(finishedOf(events)).toMatchObject({ status: 'failed', message: 'The sample could not be encoded.', sampleCount: 0 });
  });
});

describe('a model whose manifest declares channels the gallery cannot store', () => {
  it('fails the run before drawing, naming the model folder and what is allowed', async () => {
    // The manifest schema refuses such a folder at scan; a manifest object built by other code meets this check.
    const twoChannels = { ...manifest, image: { ...manifest.image, channels: 2 } } as unknown as ModelManifest;
    const events: RunEvent[] = [];
    await executeRunJob(job({ manifest: twoChannels }), context(events), control());
    expect(events).toHaveLength(1);
    expect(finishedOf(events)).toEqual({
      jobId: expect.any(Number),
      sweepId: null,
      type: 'finished',
      status: 'failed',
      sampleCount: 0,
      message:
        `The model in ${LINEAR_MODEL} declares image.channels 2 in its manifest.json, but the studio stores images with 1 channel (greyscale) or 3 (RGB). ` +
        'Fix image.channels in that manifest (or convert the model again); nothing was drawn.',
    });
    expect(prepared).toBe(0);
    expect(gallery.runs.list()).toEqual([]);
  });

  it('is refused at scan, with the folder named among the model problems', async () => {
    const copy = await copyModel(LINEAR_MODEL);
    try {
      (copy.manifest.image as { channels: number }).channels = 2;
      await copy.saveManifest();
      const studio = openStudio(dataDir, [copy.dir]);
      const problems = await studio.service.listModelProblems();
      expect(problems).toHaveLength(1);
      expect(problems[0]?.folder).toBe(copy.dir);
      expect(problems[0]?.message).toContain('image.channels must be 1 (grey) or 3 (RGB)');
      expect(await studio.service.listModels()).toEqual([]);
      await studio.close();
    } finally {
      await copy.remove();
    }
  });
});
