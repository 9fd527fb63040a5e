import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeNpy } from '../../../common/npy';
import { createEngine, type EvaluatorNetwork, type ReferenceSummary } from '../../../electron/inference';
import { loadReference, scoreImages } from '../../../electron/service/evaluation-scoring';

const REPO = join(import.meta.dirname, '..', '..', '..');
const MODEL = join(REPO, 'models', 'fashion-mnist');
const FIXTURE = join(REPO, 'test', 'fixtures', 'builtin-quality');

/** What `python -m studio_tools.quality.report --json … --save-images … --model models/fashion-mnist` wrote. */
interface QualityReport {
  unet_sha256: string;
  samples: number;
  rows: {
    sampler: string;
    mode: string;
    scale: number;
    samples: number;
    class_accuracy: number;
    fid: number;
    precision: number;
    recall: number;
    inception_score: number;
    images: string | null;
  }[];
}

const report = JSON.parse(readFileSync(join(FIXTURE, 'report.json'), 'utf8')) as QualityReport;

/**
 * What `python -m studio_tools.metrics.builtin_report_scores` measured on the same images: the
 * reference evaluator's Inception Score (splits of 5,000 in drawing order), density and coverage.
 * The report's own inception_score took ten equal splits; `inception_score_ten_equal_splits`
 * recomputes that one, so the two can be told apart.
 */
interface ReportScores {
  rows: {
    images: string;
    inception_score: number;
    inception_split_sizes: number[];
    inception_score_ten_equal_splits: number;
    density: number;
    coverage: number;
  }[];
}
const reportScores = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'fixtures', 'metrics', 'builtin_report_scores.json'), 'utf8')) as ReportScores;
const rows = report.rows.filter((row) => row.images !== null && existsSync(join(FIXTURE, row.images)));

// The evaluator and the metric math run in the engine's inference worker, as in the studio.
const engine = createEngine({ threads: 1 });
let evaluator: EvaluatorNetwork;
let reference: ReferenceSummary;

beforeAll(async () => {
  evaluator = await engine.openEvaluator(MODEL);
  reference = await loadReference(evaluator);
}, 120_000);

afterAll(async () => {
  await evaluator?.release();
  await engine.close();
});

/** 8-bit pixels [N, C, H, W] to model space, as the gallery's PNGs are read back. */
function modelSpace(pixels: Uint8Array): Float32Array {
  return Float32Array.from(pixels, (pixel) => pixel / 127.5 - 1);
}

describe("the built-in model's figures agree with its quality report", () => {
  it('the report was measured on the model the studio ships', () => {
    const unet = JSON.parse(readFileSync(join(MODEL, 'manifest.json'), 'utf8')).unet.file as string;
    const sha256 = createHash('sha256').update(readFileSync(join(MODEL, unet))).digest('hex');
    expect(report.unet_sha256).toBe(sha256);
    expect(rows.length).toBeGreaterThan(0);
  });

  it.each(rows.map((row) => [`${row.sampler} ${row.mode} scale ${row.scale}`, row] as const))(
    'scores the report samples of %s as the report does',
    async (_, row) => {
      const pixels = decodeNpy(new Uint8Array(readFileSync(join(FIXTURE, row.images!))));
      expect(pixels.shape).toEqual([row.samples, 1, 32, 32]);
      // Sample i of the report asked for class i mod 10.
      const classes = Int32Array.from({ length: row.samples }, (_, i) => i % 10);
      const scores = await scoreImages(evaluator, modelSpace(pixels.data as Uint8Array), classes, reference);

      // The evaluator runs in onnxruntime here and in PyTorch there: features agree to about 1e-6,
      // which can move an argmax or a k-NN ball edge by a sample or two, no more.
      const oneSample = 1 / row.samples;
      expect(scores.sampleCount).toBe(row.samples);
      expect(Math.abs(scores.classAccuracy! - row.class_accuracy)).toBeLessThanOrEqual(2 * oneSample + 1e-12);
      expect(Math.abs(scores.precision! - row.precision)).toBeLessThanOrEqual(2 * oneSample + 1e-12);
      expect(Math.abs(scores.recall! - row.recall)).toBeLessThanOrEqual(2e-4 + 1e-12);
      expect(Math.abs(scores.fid! - row.fid) / row.fid).toBeLessThan(1e-3);
      const golden = reportScores.rows.find((scored) => scored.images === row.images)!;
      expect(golden.inception_score_ten_equal_splits).toBeCloseTo(row.inception_score, 9);
      expect(scores.inceptionSplitSizes).toEqual(golden.inception_split_sizes);
      expect(Math.abs(scores.inceptionScore! - golden.inception_score) / golden.inception_score).toBeLessThan(1e-3);
      expect(Math.abs(scores.density! - golden.density)).toBeLessThanOrEqual(2e-3);
      expect(Math.abs(scores.coverage! - golden.coverage)).toBeLessThanOrEqual(5e-4);
    },
    120_000,
  );
});
