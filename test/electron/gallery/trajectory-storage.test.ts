/**
 * How the gallery keeps trajectory steps: exact float32 xₜ and 8-bit x̂₀, with PNGs made when
 * asked for, byte for byte those the studio used to store; and files from before (schema 5, PNG
 * steps) stay viewable and exportable after the migration.
 */
import Database from 'better-sqlite3';
import { unzipSync } from 'fflate';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeNpyFloat32 } from '../../../common/npy';
import { newSampleFrom, openGallery } from '../../../electron/gallery';
import { openDatabase } from '../../../electron/gallery/open-database';
import { decodePng, encodePng, imageFromTensor } from '../../../electron/png/image';
import { trajectoryAnimation, trajectoryNpyZip } from '../../../electron/service/trajectory-export';
import { APP_VERSION, NOISE_ALGORITHM, temporaryFolder, testManifest, testPng, testRequest } from './gallery-fixtures';

let folder: ReturnType<typeof temporaryFolder>;
let file: string;

beforeEach(() => {
  folder = temporaryFolder();
  file = join(folder.dir, 'gallery.sqlite');
});
afterEach(() => folder.remove());

const SIZE = 8;
const CHANNELS = 3;
const PER_STEP = CHANNELS * SIZE * SIZE;

/** Values in [-1.2, 1.2] (some past the clamp) with many float32 digits, from a fixed recurrence. */
function tensorOf(seed: number, length: number): Float32Array {
  let state = seed * 7919 + 1;
  return Float32Array.from({ length }, () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return (state / 2147483648) * 2.4 - 1.2;
  });
}

/** A step's PNG as the studio encoded it while sampling before schema 8. */
function encodedWhileSampling(tensor: Float32Array): Uint8Array {
  return encodePng(imageFromTensor(tensor, CHANNELS, SIZE, SIZE));
}

describe('steps recorded now', () => {
  it('give back the exact xₜ, and PNGs equal to the ones encoded while sampling', () => {
    const gallery = openGallery(file);
    gallery.models.register(testManifest('tiny-test', 10, SIZE), 'b'.repeat(64));
    const run = gallery.runs.start({ request: testRequest(), provider: 'cpu', noiseAlgorithm: NOISE_ALGORITHM, appVersion: APP_VERSION });
    const steps = 3;
    const xt = tensorOf(1, steps * PER_STEP);
    const predX0 = tensorOf(2, steps * PER_STEP);
    const sample = gallery.samples.add(
      run.id,
      newSampleFrom({
        seed: 5, channels: CHANNELS, height: SIZE, width: SIZE, pixels: new Uint8Array(PER_STEP), classProbability: null,
        trajectory: { t: Int32Array.from([999, 499, 0]), xt, predX0, classProbability: null, gradNorm: null, classifier: null },
      }),
    );
    for (let step = 0; step < steps; step++) {
      const own = (tensor: Float32Array) => tensor.subarray(step * PER_STEP, (step + 1) * PER_STEP);
      expect(Buffer.from(gallery.trajectories.image(sample.id, step, 'xt')!)).toEqual(Buffer.from(encodedWhileSampling(own(xt))));
      expect(Buffer.from(gallery.trajectories.image(sample.id, step, 'x0')!)).toEqual(Buffer.from(encodedWhileSampling(own(predX0))));
      expect(Array.from(gallery.trajectories.state(sample.id, step)!)).toEqual(Array.from(own(xt)));
    }
    expect(gallery.trajectories.state(sample.id, steps)).toBeUndefined();
    expect(gallery.trajectories.image(sample.id, steps, 'xt')).toBeUndefined();
    expect(gallery.trajectories.image(sample.id, 0, 'heat')).toBeUndefined();
    gallery.close();
  });
});

describe('a schema 5 gallery with PNG trajectories', () => {
  const oldXt = [tensorOf(3, PER_STEP), tensorOf(4, PER_STEP)];
  const oldX0 = [tensorOf(5, PER_STEP), tensorOf(6, PER_STEP)];

  function writeVersionFive(): void {
    const { db } = openDatabase(file, { targetVersion: 5 });
    db.close();
    const raw = new Database(file);
    raw.prepare('INSERT INTO models (id, sha256, manifest, added_at) VALUES (?, ?, ?, ?)').run('tiny-test', 'b'.repeat(64), JSON.stringify(testManifest('tiny-test', 10, SIZE)), 1);
    raw
      .prepare(
        `INSERT INTO runs (id, model_id, model_sha256, request, provider, noise_algorithm, app_version, status, started_at, ended_at)
         VALUES (1, 'tiny-test', ?, ?, 'cpu', ?, ?, 'completed', 1, 2)`,
      )
      .run('b'.repeat(64), JSON.stringify(testRequest({ seeds: [3] })), NOISE_ALGORITHM, APP_VERSION);
    raw
      .prepare(
        `INSERT INTO samples (id, run_id, model_id, class_index, scale, mode, sampler, steps, seed, width, height, confidence, created_at)
         VALUES (1, 1, 'tiny-test', 7, 4, 'conditional', 'ddim', 'ddim25', 3, ?, ?, 0.5, 5)`,
      )
      .run(SIZE, SIZE);
    raw.prepare('INSERT INTO sample_images (sample_id, png) VALUES (1, ?)').run(testPng(SIZE, 3));
    const step = raw.prepare('INSERT INTO trajectory_steps (sample_id, step_index, t, xt_png, pred_x0_png, probability, gradient_norm) VALUES (1, ?, ?, ?, ?, ?, ?)');
    step.run(0, 999, encodedWhileSampling(oldXt[0]!), encodedWhileSampling(oldX0[0]!), 0.25, 1.5);
    step.run(1, 959, encodedWhileSampling(oldXt[1]!), encodedWhileSampling(oldX0[1]!), 0.5, 2.5);
    raw.close();
  }

  it('keeps every step viewable with its figures after the migration', () => {
    writeVersionFive();
    const gallery = openGallery(file);
    expect(gallery.previousVersion).toBe(5);
    expect(gallery.trajectories.steps(1)).toEqual([
      { index: 0, t: 999, probability: 0.25, gradientNorm: 1.5, classifierView: null, evaluatorProbability: null },
      { index: 1, t: 959, probability: 0.5, gradientNorm: 2.5, classifierView: null, evaluatorProbability: null },
    ]);
    for (const index of [0, 1]) {
      expect(Buffer.from(gallery.trajectories.image(1, index, 'xt')!)).toEqual(Buffer.from(encodedWhileSampling(oldXt[index]!)));
      expect(Buffer.from(gallery.trajectories.image(1, index, 'x0')!)).toEqual(Buffer.from(encodedWhileSampling(oldX0[index]!)));
    }
    // Only 8 bits of these states were kept, so there is no exact xₜ to hand out.
    expect(gallery.trajectories.state(1, 0)).toBeUndefined();
    gallery.close();
  });

  it('still exports them: the .npy arrays from the old 8-bit images, and the animation', () => {
    writeVersionFive();
    const gallery = openGallery(file);
    const zip = unzipSync(trajectoryNpyZip(gallery, 1).bytes);
    const xtFile = Object.entries(zip).find(([name]) => name.endsWith('/xt.npy'))![1];
    const exported = decodeNpyFloat32(xtFile);
    expect(exported.shape).toEqual([2, 1, CHANNELS, SIZE, SIZE]);
    const firstPng = decodePng(encodedWhileSampling(oldXt[0]!));
    for (const [pixel, channel] of [[0, 0], [17, 1], [63, 2]] as const) {
      expect(exported.data[channel * SIZE * SIZE + pixel]).toBeCloseTo((firstPng.data[pixel * 4 + channel] as number) / 127.5 - 1, 6);
    }
    const animation = trajectoryAnimation(gallery, 1, 'xt');
    expect(animation.mimeType).toBe('image/png');
    gallery.close();
  });

  it('takes new compact steps beside the old ones, and the file passes the integrity check', () => {
    writeVersionFive();
    const gallery = openGallery(file);
    const run = gallery.runs.start({ request: testRequest(), provider: 'cpu', noiseAlgorithm: NOISE_ALGORITHM, appVersion: APP_VERSION });
    const xt = tensorOf(9, PER_STEP);
    const sample = gallery.samples.add(
      run.id,
      newSampleFrom({
        seed: 9, channels: CHANNELS, height: SIZE, width: SIZE, pixels: new Uint8Array(PER_STEP), classProbability: null,
        trajectory: { t: Int32Array.from([0]), xt, predX0: xt, classProbability: null, gradNorm: null, classifier: null },
      }),
    );
    expect(Array.from(gallery.trajectories.state(sample.id, 0)!)).toEqual(Array.from(xt));
    gallery.close();
    const raw = new Database(file, { readonly: true });
    expect(raw.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(raw.prepare('SELECT count(*) AS n FROM trajectory_steps WHERE xt_png IS NOT NULL').get()).toEqual({ n: 2 });
    expect(raw.prepare('SELECT count(*) AS n FROM trajectory_steps WHERE xt_f32 IS NOT NULL').get()).toEqual({ n: 1 });
    raw.close();
  });
});
