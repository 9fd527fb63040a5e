/**
 * All the quality figures of a generated set against a model's reference data, the way the
 * command line and the evaluation job use them: the reference's statistics and k-NN radii are
 * prepared once and reused for every guidance scale.
 */
import type { FeatureMatrix } from './dense-matrix';
import { featureStatistics, frechetDistance, type GaussianStatistics } from './frechet-distance';
import { INCEPTION_SPLIT_SIZE, inceptionScore, type InceptionScore } from './inception-score';
import type { MatrixKernels } from './matrix-kernels';
import { DEFAULT_NEIGHBOURHOOD, manifoldFigures, manifoldRadii, referenceManifold, type ReferenceManifold } from './precision-recall';

export interface ReferenceData {
  statistics: GaussianStatistics;
  /** Statistics of the evaluator's spatial features, for sFID; null when it has none. */
  spatialStatistics: GaussianStatistics | null;
  manifold: ReferenceManifold;
  neighbourhood: number;
}

export interface QualityMetrics {
  sampleCount: number;
  fid: number;
  /** FID on the spatial features; null when the evaluator or the reference has none. */
  sfid: number | null;
  precision: number;
  recall: number;
  density: number;
  coverage: number;
  inceptionScore: InceptionScore | null;
}

export interface MetricOptions {
  /** Samples per Inception Score split, in drawing order. */
  splitSize?: number;
  /** The generated set's spatial features, row for row with its features. */
  spatial?: FeatureMatrix;
  /** Stops the FID's factorisation and eigenvalues between their steps. */
  signal?: AbortSignal;
}

/**
 * The reference's statistics (the given mean and covariance, as the model folder stores them,
 * or estimated from its features) and its k-NN radii.
 */
export async function prepareReference(
  features: FeatureMatrix,
  kernels: MatrixKernels,
  statistics?: GaussianStatistics,
  neighbourhood = DEFAULT_NEIGHBOURHOOD,
  spatialStatistics: GaussianStatistics | null = null,
): Promise<ReferenceData> {
  if (statistics && statistics.mu.length !== features.dimension) {
    throw new Error(`The reference mean has ${statistics.mu.length} values but the reference features have ${features.dimension} dimensions; they must come from the same evaluator.`);
  }
  return {
    statistics: statistics ?? (await featureStatistics(features, kernels)),
    spatialStatistics,
    manifold: await referenceManifold(features, kernels, neighbourhood),
    neighbourhood,
  };
}

/** `logits` in drawing order: the Inception Score's splits follow the rows. */
export async function qualityMetrics(
  generated: FeatureMatrix,
  logits: FeatureMatrix | null,
  reference: ReferenceData,
  kernels: MatrixKernels,
  options: MetricOptions = {},
): Promise<QualityMetrics> {
  if (generated.dimension !== reference.statistics.mu.length) {
    throw new Error(`Generated features have ${generated.dimension} dimensions but the reference has ${reference.statistics.mu.length}; compute both with the same evaluator network.`);
  }
  if (logits && logits.count !== generated.count) {
    throw new Error(`There are ${logits.count} rows of logits for ${generated.count} feature rows; both must come from the same images.`);
  }
  const { spatial } = options;
  if (spatial && spatial.count !== generated.count) {
    throw new Error(`There are ${spatial.count} rows of spatial features for ${generated.count} feature rows; both must come from the same images.`);
  }
  const fid = await frechetDistance(await featureStatistics(generated, kernels), reference.statistics, kernels, options.signal);
  const sfid =
    spatial && reference.spatialStatistics
      ? await frechetDistance(await featureStatistics(spatial, kernels), reference.spatialStatistics, kernels, options.signal)
      : null;
  const generatedManifold = { features: generated, radii: await manifoldRadii(generated, kernels, reference.neighbourhood) };
  const figures = await manifoldFigures(reference.manifold, generatedManifold, kernels);
  return {
    sampleCount: generated.count,
    fid,
    sfid,
    ...figures,
    inceptionScore: logits ? inceptionScore(logits, options.splitSize ?? INCEPTION_SPLIT_SIZE) : null,
  };
}
