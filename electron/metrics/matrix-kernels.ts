import type { DenseMatrix, FeatureMatrix } from './dense-matrix';

/**
 * The dense products the metrics need, run by an engine with a fast GEMM
 * (electron/inference/linalg-kernels.ts runs them on onnxruntime). All results are float64.
 */
export interface MatrixKernels {
  /** Column means [D] and scatter matrix Σᵢ (xᵢ − mean)ᵀ(xᵢ − mean) [D×D] of the rows of `features`. */
  meanAndScatter(features: FeatureMatrix): Promise<{ mean: Float64Array; scatter: DenseMatrix }>;
  /** a·b. */
  multiply(a: DenseMatrix, b: DenseMatrix): Promise<DenseMatrix>;
  /** Squared Euclidean distances ‖rᵢ − cⱼ‖², rows × cols, clamped at 0. */
  squaredDistances(rows: FeatureMatrix, cols: FeatureMatrix): Promise<DenseMatrix>;
}
