import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OnnxMatrixKernels } from '../../../electron/inference/linalg-kernels';
import { featureStatistics, frechetDistance } from '../../../electron/metrics/frechet-distance';
import { inceptionScore } from '../../../electron/metrics/inception-score';
import { readFeatureMatrix, readSquareMatrix, readVector } from '../../../electron/metrics/npy-files';
import { featureRows } from '../../../electron/metrics/dense-matrix';
import { manifoldFigures, manifoldRadii, precisionRecall, referenceManifold } from '../../../electron/metrics/precision-recall';
import { prepareReference, qualityMetrics } from '../../../electron/metrics/quality-metrics';
import { symmetricEigenvalues } from '../../../electron/metrics/symmetric-eigenvalues';

const fixtures = join(import.meta.dirname, '..', '..', 'fixtures', 'metrics');
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
  density: number;
  coverage: number;
  density_k: number;
  sfid: number;
  inception_score: number;
  inception_score_split_sizes: number[];
  inception_score_long: number;
  inception_score_long_split_sizes: number[];
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

  it("gives the Inception Score of the reference evaluator's formula: one split for fewer than 5,000 samples", async () => {
    const logits = await readFeatureMatrix(fixture('generated_logits.npy'));
    const score = inceptionScore(logits);
    expect(score.score).toBeCloseTo(expected.inception_score, 12);
    expect(score.splitSizes).toEqual(expected.inception_score_split_sizes);
    expect(score.splitSizes).toEqual([300]);
  });

  it('cuts 11,000 samples into splits of 5,000, 5,000 and 1,000 in row order, as the evaluator does', async () => {
    const logits = await readFeatureMatrix(fixture('long_logits.npy'));
    const score = inceptionScore(logits);
    expect(score.splitSizes).toEqual(expected.inception_score_long_split_sizes);
    expect(score.splitSizes).toEqual([5000, 5000, 1000]);
    expect(score.score).toBeCloseTo(expected.inception_score_long, 12);
  });

  it('gives exactly the density and coverage of the reference k = 5 balls (Naeem et al. 2020)', async () => {
    const reference = await readFeatureMatrix(fixture('reference_features.npy'));
    const generated = await readFeatureMatrix(fixture('generated_features.npy'));
    const manifold = await referenceManifold(reference, kernels, expected.k, expected.density_k);
    const figures = await manifoldFigures(manifold, { features: generated, radii: await manifoldRadii(generated, kernels, expected.k) }, kernels);
    expect(figures.density).toBeCloseTo(expected.density, 14);
    expect(figures.coverage).toBe(expected.coverage);
    // The same pass still gives the precision and recall numpy gives.
    expect(figures.precision).toBe(expected.precision);
    expect(figures.recall).toBe(expected.recall);
  });

  it('gives the sFID of the spatial features when the reference has spatial statistics, and none otherwise', async () => {
    const referenceFeatures = await readFeatureMatrix(fixture('reference_features.npy'));
    const generated = await readFeatureMatrix(fixture('generated_features.npy'));
    const spatialStatistics = { mu: await readVector(fixture('reference_spatial_mu.npy')), sigma: await readSquareMatrix(fixture('reference_spatial_sigma.npy')) };
    const withSpatial = await prepareReference(referenceFeatures, kernels, await referenceStatistics(), expected.k, spatialStatistics);
    const spatial = await readFeatureMatrix(fixture('generated_spatial.npy'));
    const metrics = await qualityMetrics(generated, null, withSpatial, kernels, { spatial });
    expect(Math.abs(metrics.sfid! - expected.sfid) / expected.sfid).toBeLessThan(1e-6);
    expect(Math.abs(metrics.fid - expected.fid) / expected.fid).toBeLessThan(1e-6);

    const withoutSpatial = await prepareReference(referenceFeatures, kernels, await referenceStatistics(), expected.k);
    expect((await qualityMetrics(generated, null, withoutSpatial, kernels, { spatial })).sfid).toBeNull();
  });

  it('refuses spatial features of other images than the features', async () => {
    const referenceFeatures = await readFeatureMatrix(fixture('reference_features.npy'));
    const generated = await readFeatureMatrix(fixture('generated_features.npy'));
    const reference = await prepareReference(referenceFeatures, kernels, await referenceStatistics(), expected.k);
    const spatial = featureRows(await readFeatureMatrix(fixture('generated_spatial.npy')), 0, 10);
    await expect(qualityMetrics(generated, null, reference, kernels, { spatial })).rejects.toThrow(/10 rows of spatial features for 300 feature rows/);
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
