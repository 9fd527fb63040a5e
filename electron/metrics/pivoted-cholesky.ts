/**
 * Cholesky factorisation with diagonal pivoting of a symmetric positive semi-definite matrix,
 * PᵀAP = LLᵀ with L of n×r, r the numerical rank (Higham, "Accuracy and Stability of Numerical
 * Algorithms", §10.3; LAPACK dpstrf). A covariance of fewer samples than dimensions is singular,
 * so plain Cholesky would fail where this returns the factor of its range.
 */
import type { DenseMatrix } from './dense-matrix';
import { EventLoopPause } from './event-loop-pause';

export interface PivotedCholesky {
  /** L, n×rank, row i belonging to the original index permutation[i]. */
  factor: DenseMatrix;
  permutation: Int32Array;
  rank: number;
}

/** Stops when the largest remaining pivot is below n·ε·max diag(A), LAPACK's default tolerance. */
export async function pivotedCholesky(matrix: DenseMatrix, signal?: AbortSignal): Promise<PivotedCholesky> {
  const pause = new EventLoopPause(undefined, signal);
  const n = matrix.rows;
  if (matrix.cols !== n) throw new Error(`Cholesky needs a square matrix, got ${matrix.rows}×${matrix.cols}.`);
  const a = matrix.data;
  const permutation = Int32Array.from({ length: n }, (_, i) => i);
  // Row i of `lower` holds L's row for permutation[i]; columns beyond k stay zero.
  const lower = new Float64Array(n * n);
  const remaining = new Float64Array(n);
  let largestDiagonal = 0;
  for (let i = 0; i < n; i++) {
    remaining[i] = a[i * n + i]!;
    largestDiagonal = Math.max(largestDiagonal, remaining[i]!);
  }
  const tolerance = n * 2 ** -52 * largestDiagonal;

  let rank = 0;
  for (let k = 0; k < n; k++) {
    await pause.maybePause();
    let pivot = k;
    for (let i = k + 1; i < n; i++) if (remaining[i]! > remaining[pivot]!) pivot = i;
    if (!(remaining[pivot]! > tolerance)) break;
    if (pivot !== k) {
      [permutation[k], permutation[pivot]] = [permutation[pivot]!, permutation[k]!];
      [remaining[k], remaining[pivot]] = [remaining[pivot]!, remaining[k]!];
      const rowK = lower.slice(k * n, k * n + k);
      lower.copyWithin(k * n, pivot * n, pivot * n + k);
      lower.set(rowK, pivot * n);
    }
    const diagonal = Math.sqrt(remaining[k]!);
    lower[k * n + k] = diagonal;
    const original = permutation[k]!;
    const rowK = k * n;
    for (let i = k + 1; i < n; i++) {
      const rowI = i * n;
      let sum = a[permutation[i]! * n + original]!;
      for (let p = 0; p < k; p++) sum -= lower[rowI + p]! * lower[rowK + p]!;
      const value = sum / diagonal;
      lower[rowI + k] = value;
      remaining[i] = remaining[i]! - value * value;
    }
    rank = k + 1;
  }

  const factor = new Float64Array(n * rank);
  for (let i = 0; i < n; i++) factor.set(lower.subarray(i * n, i * n + rank), i * rank);
  return { factor: { rows: n, cols: rank, data: factor }, permutation, rank };
}
