import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OnnxMatrixKernels } from '../../../electron/inference/linalg-kernels';
import { featureStatistics, frechetDistance } from '../../../electron/metrics/frechet-distance';
import { inceptionScore } from '../../../electron/metrics/inception-score';
import { readFeatureMatrix, readSquareMatrix, readVector } from '../../../electron/metrics/npy-files';
import { featureRows } from '../../../electron/metrics/dense-matrix';
import { precisionRecall } from '../../../electron/metrics/precision-recall';
import { symmetricEigenvalues } from '../../../electron/metrics/symmetric-eigenvalues';

const fixtures = join(import.meta.dirname, 'fixtures');
const fixture = (name: string) => join(fixtures, name);

/** Written by `python -m studio_tools.metrics.fixtures` from numpy and scipy. */
const expected = JSON.parse(readFileSync(fixture('expected.json'), 'utf8')) as {
  fid: number;
  fid_reference_first: number;
  fid_few_samples: number;
  few_samples_count: number;
  generated_mu: number[];
  generated_sigma_trace: number;
  precision: number;
  recall: number;
  k: number;
  inception_score: number;
  inception_score_std: number;
  inception_score_splits: number;
  symmetric_eigenvalues: number[];
};

const kernels = new OnnxMatrixKernels({ threads: 1 });
afterAll(() => kernels.release());

async function referenceStatistics() {
  return { mu: await readVector(fixture('reference_mu.npy')), sigma: await readSquareMatrix(fixture('reference_sigma.npy')) };
}

describe('metrics against numpy and scipy', () => {
  it('computes feature statistics as numpy.cov does', async () => {
    const stats = await featureStatistics(await readFeatureMatrix(fixture('generated_features.npy')), kernels);
    stats.mu.forEach((value, i) => expect(value).toBeCloseTo(expected.generated_mu[i]!, 12));
    let trace = 0;
    for (let i = 0; i < stats.sigma.rows; i++) trace += stats.sigma.data[i * stats.sigma.cols + i]!;
    expect(Math.abs(trace - expected.generated_sigma_trace) / expected.generated_sigma_trace).toBeLessThan(1e-12);
  });

  it('matches the FID of scipy.linalg.sqrtm within a relative 1e-6, in either argument order', async () => {
    const generated = await featureStatistics(await readFeatureMatrix(fixture('generated_features.npy')), kernels);
    const reference = await referenceStatistics();
    const fid = await frechetDistance(generated, reference, kernels);
    const fidReversed = await frechetDistance(reference, generated, kernels);
    expect(Math.abs(fid - expected.fid) / expected.fid).toBeLessThan(1e-6);
    expect(Math.abs(fidReversed - expected.fid_reference_first) / expected.fid_reference_first).toBeLessThan(1e-6);
  });

  it('handles the singular covariance of fewer samples than dimensions', async () => {
    const all = await readFeatureMatrix(fixture('generated_features.npy'));
    const few = await featureStatistics(featureRows(all, 0, expected.few_samples_count), kernels);
    const fid = await frechetDistance(few, await referenceStatistics(), kernels);
    expect(Math.abs(fid - expected.fid_few_samples) / expected.fid_few_samples).toBeLessThan(1e-6);
  });

  it('gives a FID of about 0 for a set against itself', async () => {
    const stats = await featureStatistics(await readFeatureMatrix(fixture('reference_features.npy')), kernels);
    const fid = await frechetDistance(stats, stats, kernels);
    expect(Math.abs(fid)).toBeLessThan(1e-9);
  });

  it('gives exactly the precision and recall of the k-NN manifolds (k = 3)', async () => {
    const reference = await readFeatureMatrix(fixture('reference_features.npy'));
    const generated = await readFeatureMatrix(fixture('generated_features.npy'));
    const { precision, recall } = await precisionRecall(reference, generated, kernels, expected.k);
    expect(precision).toBe(expected.precision);
    expect(recall).toBe(expected.recall);
  });

  it('gives the Inception Score of the improved-GAN formula with splits', async () => {
    const logits = await readFeatureMatrix(fixture('generated_logits.npy'));
    const score = inceptionScore(logits, expected.inception_score_splits);
    expect(score.mean).toBeCloseTo(expected.inception_score, 12);
    expect(score.std).toBeCloseTo(expected.inception_score_std, 12);
  });

  it('finds the eigenvalues numpy.linalg.eigvalsh finds', async () => {
    const values = await symmetricEigenvalues(await readSquareMatrix(fixture('symmetric_matrix.npy')));
    values.forEach((value, i) => expect(value).toBeCloseTo(expected.symmetric_eigenvalues[i]!, 10));
  });

  it('lets the event loop run while it factors a large matrix', async () => {
    const n = 600;
    const data = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) data[i * n + j] = data[j * n + i] = Math.sin(i * 31 + j * 17);
    const order: string[] = [];
    const ticks = setInterval(() => order.push('tick'), 0);
    await symmetricEigenvalues({ rows: n, cols: n, data });
    clearInterval(ticks);
    order.push('done');
    expect(order.indexOf('tick')).toBeGreaterThanOrEqual(0);
    expect(order.indexOf('tick')).toBeLessThan(order.indexOf('done'));
  });
});
