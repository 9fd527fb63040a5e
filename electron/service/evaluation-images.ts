/**
 * The stored images of an evaluation, read back from the gallery for scoring. Scoring always
 * reads the stored 8-bit PNGs, so samples made before a restart and after it are scored alike.
 */
import { PNG } from 'pngjs';
import type { Gallery } from '../gallery';

export interface EvaluationImages {
  /** [count, C, H, W] in [-1, 1]. */
  images: Float32Array;
  count: number;
  classIndices: Int32Array;
}

/** Gallery samples of one evaluation at one scale and class, one per seed. */
export function evaluationSampleIds(gallery: Gallery, evaluationId: number, modelId: string, scale: number, classIndex: number): number[] {
  const evaluationOfRun = new Map<number, number | null>();
  const bySeed = new Map<number, number>();
  let before: number | undefined;
  for (;;) {
    const page = gallery.samples.list({ modelId, classIndex, scaleMin: scale, scaleMax: scale, limit: 500, ...(before ? { before } : {}) });
    for (const sample of page.items) {
      if (!evaluationOfRun.has(sample.runId)) evaluationOfRun.set(sample.runId, gallery.runs.get(sample.runId)?.evaluationId ?? null);
      if (evaluationOfRun.get(sample.runId) !== evaluationId) continue;
      // Oldest first wins: the page is newest first, so later items overwrite.
      bySeed.set(sample.seed, sample.id);
    }
    if (page.nextCursor === null) break;
    before = page.nextCursor;
  }
  return [...bySeed.entries()].sort(([a], [b]) => a - b).map(([, id]) => id);
}

/** Decodes the PNGs of `sampleIds` into model space: x = pixel / 127.5 − 1. */
export function readEvaluationImages(gallery: Gallery, sampleIds: readonly number[], classIndices: readonly number[], channels: number, size: number): EvaluationImages {
  const plane = size * size;
  const images = new Float32Array(sampleIds.length * channels * plane);
  sampleIds.forEach((sampleId, index) => {
    const png = gallery.samples.image(sampleId);
    if (png === undefined) throw new Error(`Sample ${sampleId} of the evaluation has no image any more; it may have been deleted. Run the evaluation again.`);
    const decoded = PNG.sync.read(Buffer.from(png));
    if (decoded.width !== size || decoded.height !== size) {
      throw new Error(`Sample ${sampleId} is ${decoded.width}×${decoded.height} but the model makes ${size}×${size} images.`);
    }
    const offset = index * channels * plane;
    for (let pixel = 0; pixel < plane; pixel++) {
      for (let channel = 0; channel < channels; channel++) {
        images[offset + channel * plane + pixel] = decoded.data[pixel * 4 + channel]! / 127.5 - 1;
      }
    }
  });
  return { images, count: sampleIds.length, classIndices: Int32Array.from(classIndices) };
}
