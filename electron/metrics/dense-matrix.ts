/** A row-major float64 matrix. */
export interface DenseMatrix {
  rows: number;
  cols: number;
  data: Float64Array;
}

/** Feature vectors of a set of images, one row per image, as the evaluator network writes them. */
export interface FeatureMatrix {
  count: number;
  dimension: number;
  data: Float32Array;
}

export function featureMatrix(data: Float32Array, count: number, dimension: number): FeatureMatrix {
  if (data.length !== count * dimension) {
    throw new Error(`Feature matrix of ${count}×${dimension} needs ${count * dimension} values, got ${data.length}.`);
  }
  return { count, dimension, data };
}

/** Rows [start, end) of a feature matrix, sharing its storage. */
export function featureRows(features: FeatureMatrix, start: number, end: number): FeatureMatrix {
  const { dimension } = features;
  return { count: end - start, dimension, data: features.data.subarray(start * dimension, end * dimension) };
}

export function transpose(matrix: DenseMatrix): DenseMatrix {
  const { rows, cols, data } = matrix;
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    const rowStart = i * cols;
    for (let j = 0; j < cols; j++) out[j * rows + i] = data[rowStart + j]!;
  }
  return { rows: cols, cols: rows, data: out };
}

export function trace(matrix: DenseMatrix): number {
  let sum = 0;
  for (let i = 0; i < Math.min(matrix.rows, matrix.cols); i++) sum += matrix.data[i * matrix.cols + i]!;
  return sum;
}
