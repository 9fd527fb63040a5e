/**
 * Forks and A/B comparisons through the studio (openStudio on a real gallery file, the tiny ADM
 * networks through onnxruntime-node): a fork replays the parent's steps before k exactly from
 * the seed and takes the switched settings after; run B of a comparison changes one setting of
 * sample A's request on A's seed; both are linked to A in their recorded request.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SampleRecord } from '../../../common/contract/gallery';
import type { RunRequest } from '../../../common/contract/run-request';
import { openStudio, removeFolder, samplesOf, type StudioFixture } from './studio-fixture';

const TINY_MODEL = path.join(import.meta.dirname, '../../fixtures/tiny-model');

const parentRequest: RunRequest = {
  modelId: 'tiny-test',
  classIndex: 0,
  mode: 'conditional+classifier',
  scale: 3,
  sampler: 'ddim',
  steps: 'ddim10',
  eta: 0,
  clipDenoised: true,
  seeds: [5, 6],
  // A batch of one, as the fork draws: onnxruntime's kernels round a batch of two otherwise.
  batchSize: 1,
  provider: 'cpu',
};
const STEPS = 10;

let studio: StudioFixture;
let parent: SampleRecord;

async function drawn(jobId: number): Promise<SampleRecord> {
  const events = await studio.finished(jobId);
  const finished = events.find((event) => event.type === 'finished');
  expect(finished?.type === 'finished' ? finished.message : null).toBeNull();
  const [sample] = samplesOf(events);
  expect(sample).toBeDefined();
  return sample as SampleRecord;
}

/** The exact xₜ of every recorded step of a sample. */
function states(sampleId: number): Float32Array[] {
  return Array.from({ length: STEPS }, (_, index) => {
    const state = studio.service.gallery.trajectories.state(sampleId, index);
    expect(state, `sample ${sampleId} keeps the exact xₜ of step ${index}`).toBeDefined();
    return state as Float32Array;
  });
}

beforeAll(async () => {
  studio = openStudio(mkdtempSync(path.join(tmpdir(), 'gds-fork-')), [TINY_MODEL]);
  const { jobId } = await studio.service.startRun({ request: parentRequest, recordTrajectory: true });
  const events = await studio.finished(jobId);
  parent = samplesOf(events).find((sample) => sample.seed === 6) as SampleRecord;
});

afterAll(async () => {
  await studio.close();
  removeFolder(studio.dataDir);
});

describe('a fork', () => {
  let fork: SampleRecord;
  beforeAll(async () => {
    const { jobId } = await studio.service.forkSample({ sampleId: parent.id, step: 4, changes: { classIndex: 2 } });
    fork = await drawn(jobId);
  });

  it('is a new sample of its own run, of the switched class, linked to its parent and step', async () => {
    expect(fork.id).not.toBe(parent.id);
    expect(fork.runId).not.toBe(parent.runId);
    expect(fork.seed).toBe(6);
    expect(fork.classIndex).toBe(2);
    const detail = await studio.service.getSample({ sampleId: fork.id });
    expect(detail.run.request).toMatchObject({ seeds: [6], classIndex: 0, switchAt: { step: 4, classIndex: 2 }, forkOf: { sampleId: parent.id, step: 4 } });
    expect(detail.trajectory).toHaveLength(STEPS);
  });

  it("takes the parent's steps before k bit for bit (replayed from the seed) and others after", () => {
    const parentStates = states(parent.id);
    const forkStates = states(fork.id);
    for (let step = 0; step < 4; step++) expect(forkStates[step], `step ${step}`).toEqual(parentStates[step]);
    for (let step = 4; step < STEPS; step++) expect(forkStates[step], `step ${step}`).not.toEqual(parentStates[step]);
  });

  it("matches a parent drawn in a batch of two within float32 rounding before k", async () => {
    const { jobId } = await studio.service.startRun({ request: { ...parentRequest, seeds: [5, 6], batchSize: 2 }, recordTrajectory: true });
    const batched = samplesOf(await studio.finished(jobId)).find((sample) => sample.seed === 6) as SampleRecord;
    const forked = await drawn((await studio.service.forkSample({ sampleId: batched.id, step: 4, changes: { classIndex: 2 } })).jobId);
    const batchedStates = states(batched.id);
    const forkStates = states(forked.id);
    for (let step = 0; step < 4; step++) {
      const expected = batchedStates[step] as Float32Array;
      const magnitude = Math.max(1, ...Array.from(expected, Math.abs));
      const worst = Math.max(...Array.from(expected, (value, i) => Math.abs(value - (forkStates[step] as Float32Array)[i]!)));
      expect(worst / magnitude, `step ${step}`).toBeLessThan(1e-5);
    }
  });

  it('equals a direct run of the switched request after k', async () => {
    const { jobId } = await studio.service.startRun({ request: { ...parentRequest, seeds: [6], batchSize: 1, switchAt: { step: 4, classIndex: 2 } }, recordTrajectory: true });
    const direct = await drawn(jobId);
    expect(states(direct.id)).toEqual(states(fork.id));
  });

  it('refuses a step outside the run, a class outside the model, a deleted sample and a fork of a fork, with their sentences', async () => {
    await expect(studio.service.forkSample({ sampleId: parent.id, step: STEPS, changes: { classIndex: 2 } })).rejects.toThrow(
      "The switch at step 10 is outside this run: with 10 steps it must be from 1 to 9 (step 0 always uses the run's own settings).",
    );
    await expect(studio.service.forkSample({ sampleId: parent.id, step: 3, changes: { classIndex: 7 } })).rejects.toThrow(
      'The switch at step 3 names class 7, but "Tiny test model (random weights)" has classes 0 to 2.',
    );
    await expect(studio.service.forkSample({ sampleId: 99_999, step: 3, changes: { classIndex: 1 } })).rejects.toThrow('Sample 99999 is not in the gallery any more; it may have been deleted.');
    await expect(studio.service.forkSample({ sampleId: fork.id, step: 6, changes: { scale: 1 } })).rejects.toThrow(
      `Sample ${fork.id} already switches its settings at step 4, and a run switches once; fork the sample it came from instead.`,
    );
    // Nothing was queued by the refusals, and the parent is untouched.
    expect((await studio.service.getSample({ sampleId: parent.id })).sample).toEqual(parent);
  });
});

describe('an A/B comparison', () => {
  it("draws sample A's request with the scale changed, on A's seed, linked to A", async () => {
    const { jobId } = await studio.service.compareSample({ sampleId: parent.id, setting: 'scale', value: 8 });
    const b = await drawn(jobId);
    expect(b.seed).toBe(parent.seed);
    expect(b.scale).toBe(8);
    const detail = await studio.service.getSample({ sampleId: b.id });
    expect(detail.run.request).toMatchObject({ ...parentRequest, seeds: [6], batchSize: 1, scale: 8, comparedWith: { sampleId: parent.id, setting: 'scale' } });
    expect(detail.trajectory).toHaveLength(STEPS);
    // Same x_T, other guidance: the first step already differs.
    expect(states(b.id)[0]).not.toEqual(states(parent.id)[0]);
  });

  it('changes the sampler and keeps the spacing', async () => {
    const { jobId } = await studio.service.compareSample({ sampleId: parent.id, setting: 'sampler', value: 'dpmpp2m' });
    const b = await drawn(jobId);
    expect(b.sampler).toBe('dpmpp2m');
    expect(b.steps).toBe('ddim10');
  });

  it('refuses the value A already has, and a setting the model cannot run, with their sentences', async () => {
    await expect(studio.service.compareSample({ sampleId: parent.id, setting: 'scale', value: 3 })).rejects.toThrow(`Sample ${parent.id} already has guidance scale 3; pick another value to compare with.`);
    // A request without a schedule ran a constant one.
    await expect(studio.service.compareSample({ sampleId: parent.id, setting: 'guidanceSchedule', value: { kind: 'constant' } })).rejects.toThrow(
      `Sample ${parent.id} already has scale over t constant; pick another value to compare with.`,
    );
    await expect(studio.service.compareSample({ sampleId: parent.id, setting: 'steps', value: '50' })).rejects.toThrow("use 'ddim50'");
  });
});
