import { describe, expect, it } from 'vitest';
import { pivotedCholesky } from '../../../electron/metrics/pivoted-cholesky';
import { symmetricEigenvalues } from '../../../electron/metrics/symmetric-eigenvalues';

/** A 4×4 symmetric positive definite matrix (diagonally dominant). */
const matrix = {
  rows: 4,
  cols: 4,
  data: Float64Array.from([4, 1, 0.5, 0.25, 1, 3, 0.5, 0.1, 0.5, 0.5, 2, 0.3, 0.25, 0.1, 0.3, 1]),
};

function aborted(): AbortSignal {
  const controller = new AbortController();
  controller.abort();
  return controller.signal;
}

describe("the FID's long loops stop when the evaluation is cancelled", () => {
  it('the eigenvalue reduction rejects with an AbortError, and runs to the end without a cancel', async () => {
    await expect(symmetricEigenvalues(matrix, aborted())).rejects.toMatchObject({ name: 'AbortError' });
    const eigenvalues = await symmetricEigenvalues(matrix, new AbortController().signal);
    // The trace equals the sum of the eigenvalues.
    expect(eigenvalues.reduce((sum, value) => sum + value, 0)).toBeCloseTo(10, 12);
  });

  it('the pivoted Cholesky factorisation rejects with an AbortError, and factors without a cancel', async () => {
    await expect(pivotedCholesky(matrix, aborted())).rejects.toMatchObject({ name: 'AbortError' });
    const { rank, factor } = await pivotedCholesky(matrix, new AbortController().signal);
    expect(rank).toBe(4);
    expect(factor.rows).toBe(4);
  });
});
