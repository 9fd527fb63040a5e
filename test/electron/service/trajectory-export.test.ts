/** Trajectory export through the studio on a real gallery file and the real linear ONNX test model: the .npy zip and the animated PNG. */
import { unzipSync } from 'fflate';
import { PNG } from 'pngjs';
import UPNG from 'upng-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SampleRecord } from '../../../common/contract/gallery';
import type { RunEvent } from '../../../common/contract/studio-api';
import { decodeNpy, decodeNpyFloat32 } from '../../../common/npy';
import { readRecipe } from '../../../electron/png/recipe-chunk';
import { invokeOperation } from '../../../electron/service/invoke';
import { openStudio, removeFolder, request, type StudioFixture } from './studio-fixture';

let studio: StudioFixture;
let traced: SampleRecord;
let untraced: SampleRecord;
const traceRequest = request({ sampler: 'ddpm', steps: '12', seeds: [61], batchSize: 1, subseed: 62, subseedStrength: 0.25 });

function samplesOf(events: RunEvent[]): SampleRecord[] {
  return events.flatMap((event) => (event.type === 'sample' ? [event.sample] : []));
}

async function pixelsOf(sampleId: number): Promise<Buffer> {
  return PNG.sync.read(Buffer.from((await studio.service.readImage({ kind: 'sample', sampleId }))!)).data;
}

async function stepImage(sampleId: number, kind: 'xt' | 'x0', step: number): Promise<Buffer> {
  return PNG.sync.read(Buffer.from((await studio.service.readImage({ kind, sampleId, step }))!)).data;
}

beforeAll(async () => {
  studio = openStudio();
  const withTrajectory = await studio.service.startRun({ request: traceRequest, recordTrajectory: true });
  [traced] = samplesOf(await studio.finished(withTrajectory.jobId)) as [SampleRecord];
  const without = await studio.service.startRun({ request: request({ seeds: [63] }), recordTrajectory: false });
  [untraced] = samplesOf(await studio.finished(without.jobId)) as [SampleRecord];
});

afterAll(async () => {
  await studio.close();
  removeFolder(studio.dataDir);
});

describe('trajectory export as a zip of .npy files', () => {
  it('holds the command line\'s layout, and its x_T and noise replay the sample to the same pixels', async () => {
    const exported = await studio.service.exportTrajectory({ sampleId: traced.id, format: 'npy-zip', image: 'x0' });
    expect(exported.mimeType).toBe('application/zip');
    expect(exported.fileName).toMatch(/-seed61-trajectory\.zip$/);
    const files = unzipSync(Buffer.from(exported.bytes, 'base64'));
    const folder = exported.fileName.replace(/\.zip$/, '');
    const names = Object.keys(files).map((name) => name.replace(`${folder}/`, '')).sort();
    expect(names).toEqual(['README.txt', 'class_probability.npy', 'grad_norm.npy', 'noise.npy', 'pred_x0.npy', 'run.json', 't.npy', 'x_T.npy', 'xt.npy']);
    const file = (name: string) => files[`${folder}/${name}`]!;
    const initial = decodeNpyFloat32(file('x_T.npy'));
    const noise = decodeNpyFloat32(file('noise.npy'));
    expect(initial.shape).toEqual([1, 1, 8, 8]);
    expect(noise.shape).toEqual([12, 1, 1, 8, 8]);
    expect(JSON.parse(new TextDecoder().decode(file('run.json')))).toMatchObject({ seed: 61, subseed: 62, subseedStrength: 0.25, sampler: 'ddpm', steps: '12' });

    const { jobId } = await studio.service.runs.startInProcessRun({ ...traceRequest, subseed: undefined, subseedStrength: undefined }, false, {
      noise: { initial: initial.data, steps: noise.data },
    });
    const [replayed] = samplesOf(await studio.finished(jobId));
    expect(await pixelsOf(replayed!.id)).toEqual(await pixelsOf(traced.id));
  });

  it('keeps every recorded step in order, each xₜ and x̂₀ as the gallery shows it, with t and the classifier\'s figures', async () => {
    const detail = await studio.service.getSample({ sampleId: traced.id });
    const exported = await studio.service.exportTrajectory({ sampleId: traced.id, format: 'npy-zip', image: 'x0' });
    const files = unzipSync(Buffer.from(exported.bytes, 'base64'));
    const folder = exported.fileName.replace(/\.zip$/, '');
    const xt = decodeNpyFloat32(files[`${folder}/xt.npy`]!);
    const predX0 = decodeNpyFloat32(files[`${folder}/pred_x0.npy`]!);
    const steps = detail.trajectory.length;
    expect(xt.shape).toEqual([steps, 1, 1, 8, 8]);
    expect(predX0.shape).toEqual([steps, 1, 1, 8, 8]);
    expect([...(decodeNpy(files[`${folder}/t.npy`]!).data as BigInt64Array)].map(Number)).toEqual(detail.trajectory.map((step) => step.t));
    const probability = decodeNpyFloat32(files[`${folder}/class_probability.npy`]!);
    expect([...probability.data]).toEqual(detail.trajectory.map((step) => Math.fround(step.probability!)));
    for (const [position, step] of detail.trajectory.entries()) {
      // xₜ is exported exactly as the gallery keeps it, the state a fork starts from.
      const exactXt = [...xt.data.subarray(position * 64, (position + 1) * 64)];
      expect(exactXt).toEqual([...studio.service.gallery.trajectories.state(traced.id, step.index)!]);
      const xtShown = await stepImage(traced.id, 'xt', step.index);
      expect(exactXt.map((value) => Math.min(255, Math.max(0, Math.trunc(Math.fround(Math.fround(value + 1) * 127.5)))))).toEqual([...xtShown].filter((_, i) => i % 4 === 0));
      // x̂₀ is kept with 8 bits: byte b stands for b / 127.5 − 1.
      const x0Shown = await stepImage(traced.id, 'x0', step.index);
      const bytes = [...predX0.data.subarray(position * 64, (position + 1) * 64)].map((value) => Math.round((value + 1) * 127.5));
      expect(bytes).toEqual([...x0Shown].filter((_, i) => i % 4 === 0));
    }
  });
});

describe('trajectory export as an animated PNG', () => {
  it('has one frame per recorded step, each the step\'s image enlarged crisply to 256 px, and the sample\'s recipe', async () => {
    const detail = await studio.service.getSample({ sampleId: traced.id });
    for (const kind of ['x0', 'xt'] as const) {
      const exported = await studio.service.exportTrajectory({ sampleId: traced.id, format: 'animation', image: kind });
      expect(exported.mimeType).toBe('image/png');
      expect(exported.fileName).toMatch(new RegExp(`-seed61-${kind}-animation\\.png$`));
      const bytes = Buffer.from(exported.bytes, 'base64');
      const decoded = UPNG.decode(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
      expect([decoded.width, decoded.height]).toEqual([256, 256]);
      expect(decoded.tabs.acTL?.num_frames).toBe(detail.trajectory.length);
      const frames = UPNG.toRGBA8(decoded);
      expect(frames).toHaveLength(detail.trajectory.length);
      for (const [position, step] of detail.trajectory.entries()) {
        const shown = await stepImage(traced.id, kind, step.index);
        const frame = new Uint8Array(frames[position]!);
        for (const [x, y] of [[0, 0], [31, 31], [32, 32], [255, 0], [100, 200], [255, 255]] as const) {
          const source = (Math.floor(y / 32) * 8 + Math.floor(x / 32)) * 4;
          expect([...frame.subarray((y * 256 + x) * 4, (y * 256 + x) * 4 + 4)]).toEqual([...shown.subarray(source, source + 4)]);
        }
      }
      expect(readRecipe(bytes)).toMatchObject({ seed: 61, subseed: 62 });
    }
  });
});

describe('refusals', () => {
  it('says what to do for a sample without a trajectory, a missing sample and an unknown format', async () => {
    await expect(studio.service.exportTrajectory({ sampleId: untraced.id, format: 'npy-zip', image: 'x0' })).rejects.toThrow(/no recorded trajectory; turn on "Record trajectories"/);
    await expect(studio.service.exportTrajectory({ sampleId: 999_999, format: 'animation', image: 'x0' })).rejects.toThrow(/not in the gallery/);
    await expect(invokeOperation(studio.service, 'gallery:export-trajectory', { sampleId: traced.id, format: 'gif' })).rejects.toThrow(/"npy-zip" or "animation"/);
    await expect(invokeOperation(studio.service, 'gallery:export-trajectory', { sampleId: traced.id, format: 'animation', image: 'eps' })).rejects.toThrow(/"xt" or "x0"/);
  });
});
