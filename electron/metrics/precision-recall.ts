/**
 * Improved precision and recall (Kynkäänniemi et al. 2019), as in the reference evaluator of
 * guided-diffusion: each set's manifold is the union of balls around its points with radius
 * the distance to the point's k-th nearest other point. Precision is the fraction of generated
 * samples inside the reference manifold, recall the fraction of reference points inside the
 * generated manifold. Distances are squared Euclidean in float64; "inside" means ≤ the radius.
 */
import { featureRows, type FeatureMatrix } from './dense-matrix';
import type { MatrixKernels } from './matrix-kernels';

export const DEFAULT_NEIGHBOURHOOD = 3;

/** Rows per distance block: 1024 × 10,000 float64 distances are 80 MB. */
const BLOCK_ROWS = 1024;

/** The value at index k of `row` sorted ascending; index 0 is the point's distance to itself. */
function kthSmallest(row: Float64Array, k: number): number {
  const smallest = new Float64Array(k + 1).fill(Infinity);
  for (const value of row) {
    if (value >= smallest[k]!) continue;
    let position = k;
    while (position > 0 && smallest[position - 1]! > value) {
      smallest[position] = smallest[position - 1]!;
      position--;
    }
    smallest[position] = value;
  }
  return smallest[k]!;
}

/** Squared radius of each point's ball: distance to its k-th nearest neighbour within the set. */
export async function manifoldRadii(features: FeatureMatrix, kernels: MatrixKernels, k = DEFAULT_NEIGHBOURHOOD): Promise<Float64Array> {
  if (features.count <= k) {
    throw new Error(`Precision and recall with k = ${k} need more than ${k} feature vectors in each set, got ${features.count}.`);
  }
  const radii = new Float64Array(features.count);
  for (let start = 0; start < features.count; start += BLOCK_ROWS) {
    const end = Math.min(start + BLOCK_ROWS, features.count);
    const block = await kernels.squaredDistances(featureRows(features, start, end), features);
    for (let i = 0; i < end - start; i++) {
      radii[start + i] = kthSmallest(block.data.subarray(i * features.count, (i + 1) * features.count), k);
    }
  }
  return radii;
}

export interface PrecisionRecall {
  precision: number;
  recall: number;
}

export interface ManifoldSet {
  features: FeatureMatrix;
  radii: Float64Array;
}

/** Precision and recall of `generated` against `reference`, radii already computed. */
export async function precisionRecallOfManifolds(reference: ManifoldSet, generated: ManifoldSet, kernels: MatrixKernels): Promise<PrecisionRecall> {
  if (reference.features.dimension !== generated.features.dimension) {
    throw new Error(`Generated features have ${generated.features.dimension} dimensions but the reference has ${reference.features.dimension}; compute both with the same evaluator network.`);
  }
  const referenceCount = reference.features.count;
  const generatedInReference = new Uint8Array(generated.features.count);
  const referenceInGenerated = new Uint8Array(referenceCount);
  for (let start = 0; start < generated.features.count; start += BLOCK_ROWS) {
    const end = Math.min(start + BLOCK_ROWS, generated.features.count);
    const block = await kernels.squaredDistances(featureRows(generated.features, start, end), reference.features);
    for (let i = 0; i < end - start; i++) {
      const row = i * referenceCount;
      const generatedRadius = generated.radii[start + i]!;
      let inside = 0;
      for (let j = 0; j < referenceCount; j++) {
        const distance = block.data[row + j]!;
        if (distance <= reference.radii[j]!) inside = 1;
        if (distance <= generatedRadius) referenceInGenerated[j] = 1;
      }
      generatedInReference[start + i] = inside;
    }
  }
  const fraction = (flags: Uint8Array) => flags.reduce((total, flag) => total + flag, 0) / flags.length;
  return { precision: fraction(generatedInReference), recall: fraction(referenceInGenerated) };
}

export async function precisionRecall(
  reference: FeatureMatrix,
  generated: FeatureMatrix,
  kernels: MatrixKernels,
  k = DEFAULT_NEIGHBOURHOOD,
): Promise<PrecisionRecall> {
  const referenceSet = { features: reference, radii: await manifoldRadii(reference, kernels, k) };
  const generatedSet = { features: generated, radii: await manifoldRadii(generated, kernels, k) };
  return precisionRecallOfManifolds(referenceSet, generatedSet, kernels);
}
