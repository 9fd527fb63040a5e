/**
 * Fréchet Inception Distance (Heusel et al. 2017) between two Gaussians fitted to features:
 *   FID = ‖μ₁ − μ₂‖² + tr Σ₁ + tr Σ₂ − 2 tr √(Σ₁Σ₂).
 * With PᵀΣ₁P = LLᵀ, Σ₁Σ₂ has the same non-zero eigenvalues as the symmetric positive
 * semi-definite M = Lᵀ(PᵀΣ₂P)L, so tr √(Σ₁Σ₂) = Σᵢ √λᵢ(M), computed in float64 with a
 * symmetric eigensolver rather than a general matrix square root.
 */
import { trace, type DenseMatrix, type FeatureMatrix } from './dense-matrix';
import type { MatrixKernels } from './matrix-kernels';
import { pivotedCholesky } from './pivoted-cholesky';
import { symmetricEigenvalues } from './symmetric-eigenvalues';

/** Mean [D] and covariance [D×D] (float64, N − 1 in the denominator, as numpy.cov). */
export interface GaussianStatistics {
  mu: Float64Array;
  sigma: DenseMatrix;
}

export async function featureStatistics(features: FeatureMatrix, kernels: MatrixKernels): Promise<GaussianStatistics> {
  if (features.count < 2) throw new Error('FID needs at least 2 feature vectors to estimate a covariance.');
  const { mean, scatter } = await kernels.meanAndScatter(features);
  const sigma = scatter.data;
  for (let i = 0; i < sigma.length; i++) sigma[i] = sigma[i]! / (features.count - 1);
  return { mu: mean, sigma: scatter };
}

function checkStatistics(first: GaussianStatistics, second: GaussianStatistics): void {
  const dimension = first.mu.length;
  for (const [name, stats] of [['first', first], ['second', second]] as const) {
    if (stats.sigma.rows !== stats.mu.length || stats.sigma.cols !== stats.mu.length) {
      throw new Error(`The ${name} statistics do not fit: a mean of ${stats.mu.length} values needs a ${stats.mu.length}×${stats.mu.length} covariance, got ${stats.sigma.rows}×${stats.sigma.cols}.`);
    }
  }
  if (second.mu.length !== dimension) {
    throw new Error(`The two feature sets have different dimensions (${dimension} and ${second.mu.length}); compute both with the same evaluator network.`);
  }
}

/** Σ₁Σ₂'s trace square root, Σᵢ √λᵢ(Lᵀ(PᵀΣ₂P)L). */
export async function traceSqrtProduct(sigma1: DenseMatrix, sigma2: DenseMatrix, kernels: MatrixKernels, signal?: AbortSignal): Promise<number> {
  const n = sigma1.rows;
  const { factor, permutation, rank } = await pivotedCholesky(sigma1, signal);
  if (rank === 0) return 0;
  const permuted = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const source = permutation[i]! * n;
    for (let j = 0; j < n; j++) permuted[i * n + j] = sigma2.data[source + permutation[j]!]!;
  }
  const sigma2L = await kernels.multiply({ rows: n, cols: n, data: permuted }, factor);
  const factorT = new Float64Array(rank * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < rank; j++) factorT[j * n + i] = factor.data[i * rank + j]!;
  const m = await kernels.multiply({ rows: rank, cols: n, data: factorT }, sigma2L);
  // M is symmetric in exact arithmetic; average it with its transpose to drop rounding asymmetry.
  for (let i = 0; i < rank; i++) {
    for (let j = 0; j < i; j++) {
      const mean = (m.data[i * rank + j]! + m.data[j * rank + i]!) / 2;
      m.data[i * rank + j] = mean;
      m.data[j * rank + i] = mean;
    }
  }
  let sum = 0;
  // Tiny negative eigenvalues are rounding noise of a semi-definite M.
  for (const eigenvalue of await symmetricEigenvalues(m, signal)) sum += Math.sqrt(Math.max(eigenvalue, 0));
  return sum;
}

/** `signal` stops the factorisation and the eigenvalue reduction, which run between the kernels' products. */
export async function frechetDistance(first: GaussianStatistics, second: GaussianStatistics, kernels: MatrixKernels, signal?: AbortSignal): Promise<number> {
  checkStatistics(first, second);
  let meanTerm = 0;
  for (let i = 0; i < first.mu.length; i++) meanTerm += (first.mu[i]! - second.mu[i]!) ** 2;
  const covarianceTerm = trace(first.sigma) + trace(second.sigma) - 2 * (await traceSqrtProduct(first.sigma, second.sigma, kernels, signal));
  return meanTerm + covarianceTerm;
}
