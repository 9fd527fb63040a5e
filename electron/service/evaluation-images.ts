/**
 * The stored images of an evaluation, read back from the gallery for scoring. Scoring always
 * reads the stored 8-bit PNGs, so samples made before a restart and after it are scored alike;
 * they are decoded in the inference worker, off the main event loop.
 */
import type { Gallery } from '../gallery';
import type { StoredPngs } from '../inference/stored-pngs';

export interface EvaluationImages {
  /** The PNG of each sample, in order; the worker turns them into [count, C, H, W] in [-1, 1]. */
  images: StoredPngs;
  count: number;
  classIndices: Int32Array;
}

/** Gallery samples of one evaluation at one scale and class, one per seed (the first made), by seed. */
export function evaluationSampleIds(gallery: Gallery, evaluationId: number, modelId: string, scale: number, classIndex: number): { seed: number; sampleId: number }[] {
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
  return [...bySeed.entries()].sort(([a], [b]) => a - b).map(([seed, sampleId]) => ({ seed, sampleId }));
}

/** The stored PNGs of `sampleIds`, for the worker to decode into model space (x = pixel / 127.5 − 1). */
export function readEvaluationImages(gallery: Gallery, sampleIds: readonly number[], classIndices: readonly number[], channels: number, size: number): EvaluationImages {
  const pngs = sampleIds.map((sampleId) => {
    const png = gallery.samples.image(sampleId);
    if (png === undefined) throw new Error(`Sample ${sampleId} of the evaluation has no image any more; it may have been deleted. Run the evaluation again.`);
    return png;
  });
  return { images: { format: 'png', sampleIds: [...sampleIds], pngs, channels, size }, count: sampleIds.length, classIndices: Int32Array.from(classIndices) };
}
