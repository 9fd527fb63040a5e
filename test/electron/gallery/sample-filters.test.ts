/** The gallery grid's filters on a real SQLite file: how many samples match, and evaluation runs left out on request. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { openGallery, type Gallery } from '../../../electron/gallery';
import { encodePng } from '../../../electron/png/image';
import type { RunRequest } from '../../../common/contract/run-request';
import { APP_VERSION, NOISE_ALGORITHM, temporaryFolder, testImage, testManifest, testRequest } from './gallery-fixtures';

let folder: ReturnType<typeof temporaryFolder>;
let gallery: Gallery;

beforeEach(() => {
  folder = temporaryFolder();
  gallery = openGallery(join(folder.dir, 'data', 'gallery.sqlite'));
  gallery.models.register(testManifest('tiny-test'), 'b'.repeat(64));
});

afterEach(() => {
  gallery.close();
  folder.remove();
});

function drawRun(seeds: number[], overrides: Partial<RunRequest> = {}, evaluationId: number | null = null): number[] {
  const run = gallery.runs.start({ request: testRequest({ ...overrides, seeds }), provider: 'cpu', noiseAlgorithm: NOISE_ALGORITHM, appVersion: APP_VERSION, evaluationId });
  return seeds.map((seed) => gallery.samples.add(run.id, { seed, png: encodePng(testImage(8, seed)) }).id);
}

function startEvaluation(): number {
  // Kept as a variable: the spec's optional fields differ between versions of the contract.
  const spec = { modelId: 'tiny-test', classes: [7], scales: [0], mode: 'conditional' as const, sampler: 'ddim' as const, steps: 'ddim25', eta: 0, samplesPerScale: 8, seedOffset: 0 };
  return gallery.evaluations.create(spec).id;
}

describe('gallery filters', () => {
  it('counts the samples matching the filters on every page, not the page or the whole gallery', () => {
    drawRun([1, 2, 3], { scale: 1 });
    drawRun([4, 5, 6, 7], { scale: 8 });
    const first = gallery.samples.list({ scaleMin: 5, limit: 3 });
    expect(first.items).toHaveLength(3);
    expect(first.matching).toBe(4);
    const second = gallery.samples.list({ scaleMin: 5, limit: 3, before: first.nextCursor! });
    expect(second.items).toHaveLength(1);
    expect(second.matching).toBe(4);
    expect(gallery.samples.list({}).matching).toBe(7);
    expect(gallery.samples.list({ scaleMin: 100 }).matching).toBe(0);
  });

  it('bounds the classifier-free weight w, the default w counted, and leaves out samples drawn without it', () => {
    const weak = drawRun([1, 2], { mode: 'classifier-free', cfgScale: 1 });
    const strong = drawRun([3], { mode: 'classifier-free+classifier', cfgScale: 4.5 });
    const byDefault = drawRun([4], { mode: 'classifier-free' });
    const conditional = drawRun([5], { mode: 'conditional', cfgScale: 4.5 });
    const ids = (query: Parameters<Gallery['samples']['list']>[0]) => gallery.samples.list(query).items.map((sample) => sample.id).sort((a, b) => a - b);

    expect(ids({ cfgScaleMin: 2 })).toEqual([...strong, ...byDefault].sort((a, b) => a - b));
    expect(ids({ cfgScaleMax: 2 })).toEqual([...weak, ...byDefault].sort((a, b) => a - b));
    expect(ids({ cfgScaleMin: 2, cfgScaleMax: 2 })).toEqual(byDefault);
    expect(gallery.samples.list({ cfgScaleMin: 0 }).matching).toBe(4);
    expect(gallery.samples.list({ cfgScaleMin: 5 }).matching).toBe(0);
    // Each sample says the w it was drawn with; a mode without classifier-free guidance has none.
    expect(gallery.samples.get(strong[0]!)!.cfgScale).toBe(4.5);
    expect(gallery.samples.get(byDefault[0]!)!.cfgScale).toBe(2);
    expect(gallery.samples.get(conditional[0]!)!.cfgScale).toBeNull();
    expect(ids({})).toContain(conditional[0]);
  });

  it('leaves out the samples of evaluation runs when asked, and only then', () => {
    const own = drawRun([1, 2]);
    const evaluated = drawRun([10, 11, 12, 13, 14], { scale: 0 }, startEvaluation());
    const hidden = gallery.samples.list({ hideEvaluations: true });
    expect(hidden.items.map((sample) => sample.id).sort()).toEqual([...own].sort());
    expect(hidden.matching).toBe(2);
    const all = gallery.samples.list({});
    expect(all.matching).toBe(7);
    expect(all.items.map((sample) => sample.id)).toEqual(expect.arrayContaining(evaluated));
  });

  it('combines the notes text with hiding evaluations', () => {
    const [noted] = drawRun([1, 2]);
    const [evaluatedNoted] = drawRun([10], { scale: 0 }, startEvaluation());
    gallery.samples.edit({ kind: 'notes', sampleId: noted!, notes: 'a keeper' });
    gallery.samples.edit({ kind: 'notes', sampleId: evaluatedNoted!, notes: 'a keeper too' });
    expect(gallery.samples.list({ notesText: 'KEEPER' }).matching).toBe(2);
    expect(gallery.samples.list({ notesText: 'keeper', hideEvaluations: true }).items.map((sample) => sample.id)).toEqual([noted]);
  });
});

describe('gallery orders', () => {
  function idsOf(sort: 'newest' | 'oldest' | 'scale-high' | 'scale-low' | 'confidence-high' | 'confidence-low', limit = 100): number[] {
    const ids: number[] = [];
    let offset: number | undefined;
    let before: number | undefined;
    for (;;) {
      const page = gallery.samples.list({ sort, limit, offset, before });
      ids.push(...page.items.map((sample) => sample.id));
      if (page.nextOffset !== null) offset = page.nextOffset;
      else if (page.nextCursor !== null) before = page.nextCursor;
      else return ids;
    }
  }

  it('sorts by date either way and by scale either way, the newest first among equal scales, across pages', () => {
    const [low1, low2] = drawRun([1, 2], { scale: 1 });
    const [high1, high2] = drawRun([3, 4], { scale: 9 });
    const [mid] = drawRun([5], { scale: 4 });
    expect(idsOf('newest')).toEqual([mid, high2, high1, low2, low1]);
    expect(idsOf('oldest')).toEqual([low1, low2, high1, high2, mid]);
    expect(idsOf('scale-high')).toEqual([high2, high1, mid, low2, low1]);
    expect(idsOf('scale-low')).toEqual([low2, low1, mid, high2, high1]);
    // Pages of two give the same order, each sample once.
    expect(idsOf('scale-high', 2)).toEqual([high2, high1, mid, low2, low1]);
    expect(idsOf('oldest', 2)).toEqual([low1, low2, high1, high2, mid]);
  });

  it('sorts by classifier confidence, samples without one last', () => {
    const run = gallery.runs.start({ request: testRequest({ seeds: [1, 2, 3] }), provider: 'cpu', noiseAlgorithm: NOISE_ALGORITHM, appVersion: APP_VERSION });
    const sure = gallery.samples.add(run.id, { seed: 1, png: encodePng(testImage(8, 1)), confidence: 0.97 }).id;
    const unsure = gallery.samples.add(run.id, { seed: 2, png: encodePng(testImage(8, 2)), confidence: 0.31 }).id;
    const unknown = gallery.samples.add(run.id, { seed: 3, png: encodePng(testImage(8, 3)) }).id;
    expect(idsOf('confidence-high')).toEqual([sure, unsure, unknown]);
    expect(idsOf('confidence-low')).toEqual([unsure, sure, unknown]);
  });
});
