/**
 * Improved precision and recall (Kynkäänniemi et al. 2019), as in the reference evaluator of
 * guided-diffusion: each set's manifold is the union of balls around its points with radius
 * the distance to the point's k-th nearest other point. Precision is the fraction of generated
 * samples inside the reference manifold, recall the fraction of reference points inside the
 * generated manifold. Distances are squared Euclidean in float64; "inside" means ≤ the radius.
 *
 * Density and coverage (Naeem et al. 2020) come from the same generated-to-reference distances,
 * with the reference's balls of its k = 5 nearest neighbours, the paper's recommendation:
 *   density  = 1/(kM) Σⱼ Σᵢ 1[Yⱼ ∈ B(Xᵢ, NND_k(Xᵢ))]   (M generated samples Yⱼ)
 *   coverage = 1/N Σᵢ 1[∃ j: Yⱼ ∈ B(Xᵢ, NND_k(Xᵢ))]      (N reference points Xᵢ)
 */
import { featureRows, type FeatureMatrix } from './dense-matrix';
import type { MatrixKernels } from './matrix-kernels';

export const DEFAULT_NEIGHBOURHOOD = 3;
export const DENSITY_NEIGHBOURHOOD = 5;

/** Rows per distance block: 1024 × 10,000 float64 distances are 80 MB. */
const BLOCK_ROWS = 1024;

/** The values at index k of `row` sorted ascending, for each k of `ks`; index 0 is the point's distance to itself. */
function kthSmallest(row: Float64Array, ks: readonly number[]): number[] {
  const k = Math.max(...ks);
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
  return ks.map((index) => smallest[index]!);
}

/**
 * Squared radius of each point's ball for each k of `ks` (distance to its k-th nearest
 * neighbour within the set), from one pass over the set's distances.
 */
export async function neighbourRadii(features: FeatureMatrix, kernels: MatrixKernels, ks: readonly number[]): Promise<Float64Array[]> {
  const largest = Math.max(...ks);
  if (features.count <= largest) {
    throw new Error(`Neighbourhoods of k = ${largest} need more than ${largest} feature vectors in each set, got ${features.count}.`);
  }
  const radii = ks.map(() => new Float64Array(features.count));
  for (let start = 0; start < features.count; start += BLOCK_ROWS) {
    const end = Math.min(start + BLOCK_ROWS, features.count);
    const block = await kernels.squaredDistances(featureRows(features, start, end), features);
    for (let i = 0; i < end - start; i++) {
      kthSmallest(block.data.subarray(i * features.count, (i + 1) * features.count), ks).forEach((radius, index) => {
        radii[index]![start + i] = radius;
      });
    }
  }
  return radii;
}

/** Squared radius of each point's ball: distance to its k-th nearest neighbour within the set. */
export async function manifoldRadii(features: FeatureMatrix, kernels: MatrixKernels, k = DEFAULT_NEIGHBOURHOOD): Promise<Float64Array> {
  if (features.count <= k) {
    throw new Error(`Precision and recall with k = ${k} need more than ${k} feature vectors in each set, got ${features.count}.`);
  }
  return (await neighbourRadii(features, kernels, [k]))[0]!;
}

export interface PrecisionRecall {
  precision: number;
  recall: number;
}

export interface DensityCoverage {
  density: number;
  coverage: number;
}

export interface ManifoldSet {
  features: FeatureMatrix;
  radii: Float64Array;
}

/** A reference set with the balls density and coverage use, besides those of precision and recall. */
export interface ReferenceManifold extends ManifoldSet {
  densityRadii: Float64Array;
  densityNeighbourhood: number;
}

/** The reference's radii for precision and recall (k) and for density and coverage, in one pass. */
export async function referenceManifold(
  features: FeatureMatrix,
  kernels: MatrixKernels,
  k = DEFAULT_NEIGHBOURHOOD,
  densityK = DENSITY_NEIGHBOURHOOD,
): Promise<ReferenceManifold> {
  if (features.count <= Math.max(k, densityK)) {
    throw new Error(`The reference needs more than ${Math.max(k, densityK)} feature vectors (density and coverage use each point's ${densityK} nearest neighbours), got ${features.count}.`);
  }
  const [radii, densityRadii] = await neighbourRadii(features, kernels, [k, densityK]);
  return { features, radii: radii!, densityRadii: densityRadii!, densityNeighbourhood: densityK };
}

/**
 * Precision, recall, density and coverage of `generated` against `reference`, radii already
 * computed, from one pass over the generated-to-reference distances.
 */
export async function manifoldFigures(reference: ReferenceManifold, generated: ManifoldSet, kernels: MatrixKernels): Promise<PrecisionRecall & DensityCoverage> {
  if (reference.features.dimension !== generated.features.dimension) {
    throw new Error(`Generated features have ${generated.features.dimension} dimensions but the reference has ${reference.features.dimension}; compute both with the same evaluator network.`);
  }
  const referenceCount = reference.features.count;
  const generatedInReference = new Uint8Array(generated.features.count);
  const referenceInGenerated = new Uint8Array(referenceCount);
  const referenceCovered = new Uint8Array(referenceCount);
  let ballsContainingGenerated = 0;
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
        if (distance <= reference.densityRadii[j]!) {
          ballsContainingGenerated++;
          referenceCovered[j] = 1;
        }
      }
      generatedInReference[start + i] = inside;
    }
  }
  const fraction = (flags: Uint8Array) => flags.reduce((total, flag) => total + flag, 0) / flags.length;
  return {
    precision: fraction(generatedInReference),
    recall: fraction(referenceInGenerated),
    density: ballsContainingGenerated / (reference.densityNeighbourhood * generated.features.count),
    coverage: fraction(referenceCovered),
  };
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
