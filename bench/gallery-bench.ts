/**
 * Gallery store figures: how fast finished samples are committed (32×32 and 256×256,
 * one transaction each, as a run writes them) and how long a filtered gallery page takes
 * over 100,000 samples. Prints figures only; nothing is asserted.
 *
 *   npm run bench:gallery [-- --samples 100000]
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { parseArgs } from 'node:util';
import type { SampleQuery } from '../common/contract/gallery';
import type { ModelManifest } from '../common/models/manifest';
import { openGallery, type Gallery } from '../electron/gallery';
import { encodePng, type RgbaImage } from '../electron/png/image';

const { values: args } = parseArgs({
  options: {
    samples: { type: 'string', default: '100000' },
    inserts32: { type: 'string', default: '300' },
    inserts256: { type: 'string', default: '100' },
  },
});

function manifest(id: string, classCount: number, size: number): ModelManifest {
  const names = Array.from({ length: classCount }, (_, i) => `class ${i}`);
  return {
    format: 1, id, name: id, source: 'benchmark', license: 'MIT',
    image: { size, channels: 3 },
    classes: { count: classCount, names, synonyms: names.map(() => []), null_class: null },
    diffusion: { steps: 1000, noise_schedule: 'linear', learn_sigma: true, predict: 'eps', rescale_timesteps: false },
    unet: { file: 'unet.onnx', fp16_file: null, class_cond: true, inputs: { x: 'x', t: 't', y: 'y' }, output: 'out', batch: 'dynamic' },
    classifier: null, evaluator: null,
    defaults: { mode: 'conditional', sampler: 'ddim', steps: 'ddim25', scale: 4, eta: 0 },
    files: { 'unet.onnx': '0'.repeat(64) },
  };
}

/** Noise-like pixels: PNG compresses them about as badly as a real sample's detail. */
function noisyImage(size: number, seed: number): RgbaImage {
  const data = new Uint8Array(size * size * 4);
  let state = seed * 2654435761 + 1;
  for (let i = 0; i < data.length; i++) {
    state = (state * 1103515245 + 12345) >>> 0;
    data[i] = i % 4 === 3 ? 255 : (state >>> 16) & 255;
  }
  return { width: size, height: size, data };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

function insertRate(gallery: Gallery, size: number, count: number, trajectorySteps: number): { perSecond: number; msEach: number; bytes: number } {
  gallery.models.register(manifest(`bench-${size}`, 10, size), '1'.repeat(64));
  const run = gallery.runs.start({
    request: { modelId: `bench-${size}`, classIndex: 1, mode: 'conditional', scale: 4, sampler: 'ddim', steps: 'ddim25', eta: 0, clipDenoised: true, seeds: [0], batchSize: 1, provider: 'cpu' },
    provider: 'cpu', noiseAlgorithm: 'benchmark', appVersion: 'benchmark',
  });
  const images = Array.from({ length: 8 }, (_, k) => noisyImage(size, k));
  const pngs = images.map(encodePng);
  const trajectory = Array.from({ length: trajectorySteps }, (_, index) => ({
    index, t: 999 - index * 40, xt: new Float32Array(3 * size * size).fill(index / trajectorySteps), predX0: new Uint8Array(3 * size * size).fill(index % 256), probability: 0.5, gradientNorm: 1, classifier: null,
  }));
  const started = performance.now();
  for (let i = 0; i < count; i++) gallery.samples.add(run.id, { seed: i, png: pngs[i % 8] as Uint8Array, pixels: images[i % 8], confidence: 0.9, trajectory });
  const seconds = (performance.now() - started) / 1000;
  gallery.runs.end(run.id, 'completed');
  return { perSecond: count / seconds, msEach: (seconds * 1000) / count, bytes: (pngs[0] as Uint8Array).length };
}

/** Fills the gallery with `count` samples in one bulk transaction (bypassing the per-sample path, which the insert figures measure). */
function bulkFill(file: string, gallery: Gallery, count: number): void {
  gallery.models.register(manifest('imagenet-64', 1000, 64), '2'.repeat(64));
  gallery.models.register(manifest('fashion-mnist', 10, 32), '3'.repeat(64));
  const runA = gallery.runs.start({
    request: { modelId: 'imagenet-64', classIndex: 0, mode: 'conditional', scale: 1, sampler: 'ddim', steps: 'ddim25', eta: 0, clipDenoised: true, seeds: [0], batchSize: 1, provider: 'cpu' },
    provider: 'cpu', noiseAlgorithm: 'benchmark', appVersion: 'benchmark',
  });
  const runB = gallery.runs.start({
    request: { modelId: 'fashion-mnist', classIndex: 0, mode: 'conditional', scale: 1, sampler: 'ddpm', steps: '250', eta: 0, clipDenoised: true, seeds: [0], batchSize: 1, provider: 'cpu' },
    provider: 'cpu', noiseAlgorithm: 'benchmark', appVersion: 'benchmark',
  });
  const tinyPng = encodePng(noisyImage(1, 1));
  const db = new Database(file);
  const insertSample = db.prepare(
    `INSERT INTO samples (run_id, model_id, class_index, scale, mode, sampler, steps, seed, width, height, confidence, favorite, notes, created_at)
     VALUES (?, ?, ?, ?, 'conditional', ?, ?, ?, 64, 64, 0.5, ?, ?, ?)`,
  );
  const insertImage = db.prepare('INSERT INTO sample_images (sample_id, png) VALUES (?, ?)');
  const insertTag = db.prepare('INSERT INTO sample_tags (sample_id, tag) VALUES (?, ?)');
  db.transaction(() => {
    for (let i = 0; i < count; i++) {
      const imagenet = i % 4 !== 0;
      const classIndex = imagenet ? (i * 7919) % 1000 : i % 10;
      const scale = ((i * 31) % 21) / 2;
      const favorite = i % 20 === 0 ? 1 : 0;
      const notes = i % 100 === 0 ? 'sharp, keep for the poster' : '';
      const { lastInsertRowid } = insertSample.run(
        imagenet ? runA.id : runB.id, imagenet ? 'imagenet-64' : 'fashion-mnist', classIndex, scale,
        imagenet ? 'ddim' : 'ddpm', imagenet ? 'ddim25' : '250', i, favorite, notes, 1_700_000_000_000 + i,
      );
      insertImage.run(lastInsertRowid, tinyPng);
      if (i % 50 === 0) insertTag.run(lastInsertRowid, 'best');
    }
  })();
  db.pragma('optimize');
  db.close();
}

function timeQuery(gallery: Gallery, label: string, query: SampleQuery, repeats = 25): void {
  const times: number[] = [];
  let items = 0;
  for (let i = 0; i < repeats; i++) {
    const started = performance.now();
    items = gallery.samples.list(query).items.length;
    times.push(performance.now() - started);
  }
  console.log(`  ${label.padEnd(58)} ${median(times).toFixed(2).padStart(7)} ms  (${items} items, median of ${repeats})`);
}

const folder = mkdtempSync(join(tmpdir(), 'gds-gallery-bench-'));
try {
  console.log('Gallery store benchmark (better-sqlite3, WAL, synchronous=FULL, one transaction per sample)');
  const insertFile = join(folder, 'inserts.sqlite');
  const inserting = openGallery(insertFile);
  for (const [size, count, steps] of [[32, Number(args.inserts32), 0], [32, Number(args.inserts32), 25], [256, Number(args.inserts256), 0]] as const) {
    const rate = insertRate(inserting, size, count, steps);
    const what = `${size}×${size} samples${steps > 0 ? ` with a ${steps}-step trajectory` : ''}`;
    console.log(`insert ${what.padEnd(44)} ${rate.perSecond.toFixed(0).padStart(6)} /s  (${rate.msEach.toFixed(2)} ms each, PNG ${rate.bytes} B, n=${count})`);
  }
  inserting.close();

  const count = Number(args.samples);
  const queryFile = join(folder, 'queries.sqlite');
  const filling = openGallery(queryFile);
  const fillStart = performance.now();
  bulkFill(queryFile, filling, count);
  filling.close();
  console.log(`filled ${count} samples in ${((performance.now() - fillStart) / 1000).toFixed(1)} s; file ${(statSync(queryFile).size / 2 ** 20).toFixed(0)} MiB`);

  const gallery = openGallery(queryFile);
  console.log(`page of 60 over ${count} samples:`);
  timeQuery(gallery, 'newest first, no filter', { limit: 60 });
  timeQuery(gallery, 'model + class', { modelId: 'fashion-mnist', classIndex: 4, limit: 60 });
  timeQuery(gallery, 'model + class + scale 2–6 + sampler', { modelId: 'imagenet-64', classIndex: 207, scaleMin: 2, scaleMax: 6, sampler: 'ddim', limit: 60 });
  timeQuery(gallery, 'favorite + tag', { favorite: true, tag: 'best', limit: 60 });
  timeQuery(gallery, 'text in notes', { notesText: 'poster', limit: 60 });
  timeQuery(gallery, 'scale 9.5–10 + ddpm, deep page (before the middle id)', { scaleMin: 9.5, sampler: 'ddpm', before: Math.floor(count / 2), limit: 60 });
  const countTimes: number[] = [];
  for (let i = 0; i < 10; i++) {
    const started = performance.now();
    gallery.samples.countsByClass({ modelId: 'imagenet-64' });
    countTimes.push(performance.now() - started);
  }
  console.log(`  ${'counts per class (1000 classes of one model)'.padEnd(58)} ${median(countTimes).toFixed(2).padStart(7)} ms`);
  gallery.close();
} finally {
  rmSync(folder, { recursive: true, force: true });
}
