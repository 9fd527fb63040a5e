/**
 * How long the main event loop waits while the built-in model's evaluator scores generated
 * images: the reference statistics and k-NN radii are prepared (10,000 reference vectors), then
 * the report's 1000 samples, as the grey PNGs the gallery stores, are decoded and scored
 * `rounds` times (features, FID, precision/recall, Inception Score, class accuracy). A 1 ms
 * timer on the main thread samples its delay (monitorEventLoopDelay) over the whole scoring.
 *
 *   npx tsx bench/evaluation-event-loop.ts [--rounds N] [--threads T]
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { PNG } from 'pngjs';
import { decodeNpy } from '../common/npy';
import { createEngine } from '../electron/inference';
import { loadReference, scoreImages } from '../electron/service/evaluation-scoring';

const REPO = join(import.meta.dirname, '..');
const MODEL = join(REPO, 'models', 'fashion-mnist');
const SAMPLES = join(REPO, 'test', 'fixtures', 'builtin-quality', 'ddim50_conditional+classifier_2.npy');

export interface EventLoopFigures {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  referenceMs: number;
  scoreMs: number[];
}

/** The report's samples [N, 1, 32, 32] as grey PNGs, the way the gallery stores them. */
function storedSamples(): { pngs: Uint8Array[]; classes: Int32Array } {
  const pixels = decodeNpy(new Uint8Array(readFileSync(SAMPLES)));
  const count = pixels.shape[0] ?? 0;
  const plane = 32 * 32;
  const data = pixels.data as Uint8Array;
  const pngs = Array.from({ length: count }, (_, index) => {
    const png = new PNG({ width: 32, height: 32 });
    for (let pixel = 0; pixel < plane; pixel++) {
      const grey = data[index * plane + pixel]!;
      png.data.set([grey, grey, grey, 255], pixel * 4);
    }
    return new Uint8Array(PNG.sync.write(png, { colorType: 0, inputColorType: 6 }));
  });
  return { pngs, classes: Int32Array.from({ length: count }, (_, i) => i % 10) };
}

export async function measureEvaluationEventLoop(rounds: number, threads: number): Promise<EventLoopFigures> {
  const { pngs, classes } = storedSamples();
  const images = { format: 'png' as const, sampleIds: pngs.map((_, index) => index + 1), pngs, channels: 1, size: 32 };
  const engine = createEngine({ threads });
  try {
    const evaluator = await engine.openEvaluator(MODEL, { provider: 'cpu' });
    const delay = monitorEventLoopDelay({ resolution: 1 });
    delay.enable();
    let started = performance.now();
    const reference = await loadReference(evaluator);
    const referenceMs = performance.now() - started;
    const scoreMs: number[] = [];
    for (let round = 0; round < rounds; round++) {
      started = performance.now();
      await scoreImages(evaluator, images, classes, reference);
      scoreMs.push(performance.now() - started);
    }
    delay.disable();
    await evaluator.release();
    const ms = (nanoseconds: number): number => nanoseconds / 1e6;
    return { p50Ms: ms(delay.percentile(50)), p99Ms: ms(delay.percentile(99)), maxMs: ms(delay.max), referenceMs, scoreMs };
  } finally {
    await engine.close();
  }
}

export function printEventLoopFigures(figures: EventLoopFigures, rounds: number): void {
  console.log(`evaluation event loop: fashion-mnist evaluator, 10,000 reference vectors, ${rounds} × 1000 stored PNG samples decoded and scored`);
  console.log(`  main event-loop delay p50 ${figures.p50Ms.toFixed(2)} ms, p99 ${figures.p99Ms.toFixed(2)} ms, max ${figures.maxMs.toFixed(2)} ms`);
  console.log(`  reference statistics and radii ${(figures.referenceMs / 1000).toFixed(2)} s; each score ${figures.scoreMs.map((ms) => (ms / 1000).toFixed(2)).join(', ')} s`);
}

if (import.meta.filename === process.argv[1]) {
  const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, threads: { type: 'string', default: '0' } } });
  const rounds = Number(values.rounds);
  printEventLoopFigures(await measureEvaluationEventLoop(rounds, Number(values.threads)), rounds);
}
