/** Two-axis sweeps through the studio on a real gallery file and the real linear ONNX test model, and the grid PNG's sweep recipe. */
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import type { GridSweepRequest } from '../../../common/contract/sweep-grid';
import { encodePng } from '../../../electron/png/image';
import { invokeOperation } from '../../../electron/service/invoke';
import { request, samplesOf, studioForThisFile } from './studio-fixture';

const studio = studioForThisFile();

async function pixelsOf(sampleId: number): Promise<Buffer> {
  return PNG.sync.read(Buffer.from((await studio.service.readImage({ kind: 'sample', sampleId }))!)).data;
}

async function waitingEntries(): Promise<number> {
  return (await studio.service.listQueue()).entries.filter((entry) => entry.status === 'queued').length;
}

describe('two-axis sweeps', () => {
  it('queues one cell per pair of values, row by row, each drawing its own settings, the same pixels as a plain run', async () => {
    const sweep: GridSweepRequest = {
      request: request({ seeds: [1], batchSize: 1 }),
      x: { setting: 'scale', values: [0, 3] },
      y: { setting: 'seed', values: [11, 12, 13] },
      recordTrajectory: false,
    };
    const handle = await studio.service.startGridSweep(sweep);
    expect(handle.cells.map(({ x, y }) => [x, y])).toEqual([[0, 0], [1, 0], [0, 1], [1, 1], [0, 2], [1, 2]]);
    const cells = await Promise.all(handle.cells.map(async (cell) => ({ ...cell, samples: samplesOf(await studio.finished(cell.jobId)) })));
    for (const cell of cells) {
      expect(cell.samples).toHaveLength(1);
      expect(cell.samples[0]).toMatchObject({ scale: [0, 3][cell.x], seed: [11, 12, 13][cell.y] });
    }
    const plain = await studio.service.startRun({ request: request({ scale: 3, seeds: [12], batchSize: 1 }), recordTrajectory: false });
    const [alone] = samplesOf(await studio.finished(plain.jobId));
    const matching = cells.find((cell) => cell.x === 1 && cell.y === 1)!;
    expect(await pixelsOf(matching.samples[0]!.id)).toEqual(await pixelsOf(alone!.id));
    expect(await pixelsOf(cells[0]!.samples[0]!.id)).not.toEqual(await pixelsOf(alone!.id));
  });

  it('sweeps a sampler with its own steps against classes, and a single row without a y axis', async () => {
    const handle = await studio.service.startGridSweep({
      request: request({ seeds: [5], batchSize: 1 }),
      x: { setting: 'sampler', values: [{ sampler: 'ddim', steps: 'ddim5' }, { sampler: 'ddpm', steps: '6' }] },
      y: { setting: 'class', values: [0, 2] },
      recordTrajectory: false,
    });
    const samples = (await Promise.all(handle.cells.map(async (cell) => samplesOf(await studio.finished(cell.jobId))[0]!)));
    expect(samples.map((sample) => [sample.sampler, sample.steps, sample.classIndex])).toEqual([['ddim', 'ddim5', 0], ['ddpm', '6', 0], ['ddim', 'ddim5', 2], ['ddpm', '6', 2]]);
    const row = await studio.service.startGridSweep({ request: request({ seeds: [5], batchSize: 1 }), x: { setting: 'eta', values: [0, 1] }, recordTrajectory: false });
    expect(row.cells.map(({ x, y }) => [x, y])).toEqual([[0, 0], [1, 0]]);
    await Promise.all(row.cells.map((cell) => studio.finished(cell.jobId)));
  });

  it('refuses too many values, the same setting on both axes and a cell the model cannot run, before queueing anything', async () => {
    const base = { request: request({ seeds: [1] }) };
    await expect(invokeOperation(studio.service, 'sweep:start-grid', { ...base, x: { setting: 'scale', values: Array.from({ length: 17 }, (_, i) => i) } })).rejects.toThrow(
      /an axis holds at most 16 guidance scales \(got 17\); split the sweep/,
    );
    await expect(invokeOperation(studio.service, 'sweep:start-grid', { ...base, x: { setting: 'seed', values: [1] }, y: { setting: 'seed', values: [2] } })).rejects.toThrow(
      /two axes of a sweep must change different settings/,
    );
    await expect(invokeOperation(studio.service, 'sweep:start-grid', { ...base, x: { setting: 'colour', values: [1] } })).rejects.toThrow(/scale, class, steps, sampler, seed, eta, mode/);
    await expect(invokeOperation(studio.service, 'sweep:start-grid', { ...base, x: { setting: 'scale', values: [] } })).rejects.toThrow(/at least one guidance scale/);
    await expect(studio.service.startGridSweep({ ...base, x: { setting: 'scale', values: [1, 2] }, y: { setting: 'class', values: [0, 7] }, recordTrajectory: false })).rejects.toThrow(/Class 7 is out of range/);
    expect(await waitingEntries()).toBe(0);
  });
});

describe('schedule × classifier-free weight sweeps', () => {
  it('draws each cell with its schedule and w into the gallery, the same pixels as a plain run of those settings', async () => {
    const sweep: GridSweepRequest = {
      request: request({ mode: 'classifier-free+classifier', seeds: [4], batchSize: 1 }),
      x: { setting: 'cfgScale', values: [0.5, 3] },
      y: { setting: 'schedule', values: [{ kind: 'constant' }, { kind: 'interval', tLo: 20, tHi: 70 }] },
      recordTrajectory: false,
    };
    const handle = await studio.service.startGridSweep(sweep);
    const cells = await Promise.all(handle.cells.map(async (cell) => ({ ...cell, sample: samplesOf(await studio.finished(cell.jobId))[0]! })));
    const recorded = await Promise.all(cells.map(async (cell) => (await studio.service.getSample({ sampleId: cell.sample.id })).run.request));
    expect(recorded.map((run) => [run.cfgScale, run.guidanceSchedule])).toEqual([
      [0.5, { kind: 'constant' }],
      [3, { kind: 'constant' }],
      [0.5, { kind: 'interval', tLo: 20, tHi: 70 }],
      [3, { kind: 'interval', tLo: 20, tHi: 70 }],
    ]);
    const plain = await studio.service.startRun({
      request: request({ mode: 'classifier-free+classifier', cfgScale: 3, guidanceSchedule: { kind: 'interval', tLo: 20, tHi: 70 }, seeds: [4], batchSize: 1 }),
      recordTrajectory: false,
    });
    const [alone] = samplesOf(await studio.finished(plain.jobId));
    const pixels = await Promise.all(cells.map((cell) => pixelsOf(cell.sample.id)));
    expect(pixels[3]).toEqual(await pixelsOf(alone!.id));
    // Each schedule and each weight changes the image: no two cells are the same.
    expect(new Set(pixels.map((bytes) => bytes.toString('base64'))).size).toBe(4);
  });

  it('refuses, before queueing anything, a cell that hits the DDIM trap or a weight its mode ignores, naming the cell', async () => {
    const base = request({ mode: 'classifier-free+classifier', seeds: [1] });
    await expect(
      studio.service.startGridSweep({ request: base, x: { setting: 'cfgScale', values: [1, 2] }, y: { setting: 'steps', values: ['ddim10', '10'] }, recordTrajectory: false }),
    ).rejects.toThrow(/^In the cell at row "10 steps", column "w = 1" of the sweep: .*ddim10/);
    await expect(
      studio.service.startGridSweep({ request: { ...base, mode: 'conditional' }, x: { setting: 'cfgScale', values: [1, 2] }, recordTrajectory: false }),
    ).rejects.toThrow('In the cell "w = 1" of the sweep, the mode "conditional" does not read the classifier-free weight w.');
    await expect(invokeOperation(studio.service, 'sweep:start-grid', { request: base, x: { setting: 'schedule', values: [{ kind: 'wave' }] } })).rejects.toThrow(
      'The request for sweep:start-grid is not valid: x.values.0.kind: a schedule is one of constant, interval (with tLo and tHi) or ramp (with from and to), as --schedule writes them',
    );
    expect(await waitingEntries()).toBe(0);
  });
});

describe('the grid PNG\'s sweep recipe', () => {
  const sweep: GridSweepRequest = {
    request: request({ seeds: [1, 2], batchSize: 2, subseed: 9, subseedStrength: 0.2 }),
    x: { setting: 'mode', values: ['conditional', 'unconditional+classifier'] },
    y: { setting: 'steps', values: ['ddim5', 'ddim10'] },
    recordTrajectory: false,
  };
  const grid = encodePng({ width: 4, height: 3, data: Uint8Array.from({ length: 48 }, (_, i) => (i * 37) % 256) });

  it('carries the whole sweep, restored exactly on import, without touching the pixels', async () => {
    const tagged = await studio.service.tagSweepGrid({ png: Buffer.from(grid).toString('base64'), sweep });
    expect(tagged.fileName).toBe('linear-8px-sweep-mode-x-steps.png');
    const bytes = Buffer.from(tagged.png, 'base64');
    expect(PNG.sync.read(bytes).data).toEqual(PNG.sync.read(Buffer.from(grid)).data);
    const restored = await studio.service.readSweepGrid({ png: tagged.png });
    expect(restored).toEqual({ sweep, warning: null });
  });

  it('says what is wrong with a PNG that holds no sweep, or is not a PNG', async () => {
    await expect(studio.service.readSweepGrid({ png: Buffer.from(grid).toString('base64') })).rejects.toThrow(/no sweep recipe \(no "gds-sweep" text chunk\)/);
    await expect(studio.service.readSweepGrid({ png: Buffer.from('not a png').toString('base64') })).rejects.toThrow(/not a PNG image/);
    await expect(studio.service.tagSweepGrid({ png: Buffer.from('GIF89a').toString('base64'), sweep })).rejects.toThrow(/could not be saved: This file is not a PNG/);
  });
});
