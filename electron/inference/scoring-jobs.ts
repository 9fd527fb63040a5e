/**
 * The evaluation work of the inference worker: evaluators opened by handle, the reference data
 * of each prepared once, and the quality metrics computed here, off the main thread, on the
 * worker's linear-algebra sessions.
 */
import type { ProviderName } from '../../common/contract/run-request';
import type { DenseMatrix, FeatureMatrix } from '../metrics/dense-matrix';
import { scoreOutputs, readReference, type ImageScores } from '../metrics/image-scores';
import type { MatrixKernels } from '../metrics/matrix-kernels';
import { readFeatureMatrix, readSquareMatrix, readVector } from '../metrics/npy-files';
import { prepareReference, qualityMetrics, type QualityMetrics, type ReferenceData } from '../metrics/quality-metrics';
import { evaluationCancelledError, openEvaluatorSession, type EvaluatorOutputs, type EvaluatorSession } from './evaluator-session';
import { OnnxMatrixKernels } from './linalg-kernels';
import { decodeStoredPngs, type StoredPngs } from './stored-pngs';
import type { EvaluatorInfo, QualityMetricFiles, ReferenceSummary } from './worker-protocol';

/** Kernels that stop the computation before their next product once `cancelled` says so. */
function cancellableKernels(kernels: MatrixKernels, cancelled: () => boolean): MatrixKernels {
  const check = (): void => {
    if (cancelled()) throw evaluationCancelledError();
  };
  return {
    meanAndScatter: async (features: FeatureMatrix) => (check(), kernels.meanAndScatter(features)),
    multiply: async (a: DenseMatrix, b: DenseMatrix) => (check(), kernels.multiply(a, b)),
    squaredDistances: async (rows: FeatureMatrix, cols: FeatureMatrix) => (check(), kernels.squaredDistances(rows, cols)),
  };
}

interface OpenEvaluator {
  session: EvaluatorSession;
  reference: ReferenceData | null;
}

export interface ScoringSettings {
  threads: number;
  linalgGraphsDir: string;
}

export class ScoringJobs {
  private readonly kernels: OnnxMatrixKernels;
  private readonly evaluators = new Map<number, OpenEvaluator>();
  private nextHandle = 1;

  constructor(private readonly settings: ScoringSettings) {
    this.kernels = new OnnxMatrixKernels({ threads: settings.threads, graphsDir: settings.linalgGraphsDir });
  }

  async openEvaluator(dir: string, provider: ProviderName): Promise<EvaluatorInfo> {
    const session = await openEvaluatorSession(dir, { provider, threads: this.settings.threads });
    const handle = this.nextHandle++;
    this.evaluators.set(handle, { session, reference: null });
    return { handle, manifest: session.manifest, provider: session.provider, reference: session.reference };
  }

  private evaluator(handle: number): OpenEvaluator {
    const evaluator = this.evaluators.get(handle);
    if (!evaluator) throw new Error(`Evaluator ${handle} is not open in the inference worker; open the model's evaluator again.`);
    return evaluator;
  }

  evaluate(handle: number, images: Float32Array, count: number, cancelled: () => boolean): Promise<EvaluatorOutputs> {
    return this.evaluator(handle).session.evaluate(images, count, cancelled);
  }

  /** The evaluator's reference statistics and k-NN radii, read and computed on first use. */
  private async reference(evaluator: OpenEvaluator, cancelled: () => boolean): Promise<ReferenceData> {
    evaluator.reference ??= await readReference(evaluator.session.reference, cancellableKernels(this.kernels, cancelled));
    return evaluator.reference;
  }

  async prepareReference(handle: number, cancelled: () => boolean): Promise<ReferenceSummary> {
    const reference = await this.reference(this.evaluator(handle), cancelled);
    const { features } = reference.manifold;
    return { count: features.count, dimension: features.dimension, neighbourhood: reference.neighbourhood };
  }

  /** `signal` is the request's, aborted when its cancel message arrives during one of the metrics' pauses. */
  async score(handle: number, images: Float32Array | StoredPngs, classIndices: Int32Array, cancelled: () => boolean, signal: AbortSignal): Promise<ImageScores> {
    const evaluator = this.evaluator(handle);
    const kernels = cancellableKernels(this.kernels, cancelled);
    const reference = await this.reference(evaluator, cancelled);
    const pixels = images instanceof Float32Array ? images : decodeStoredPngs(images);
    const outputs = await evaluator.session.evaluate(pixels, classIndices.length, cancelled);
    return scoreOutputs(outputs, classIndices, evaluator.session.manifest.classes.count, reference, kernels, signal);
  }

  async releaseEvaluator(handle: number): Promise<void> {
    const evaluator = this.evaluators.get(handle);
    this.evaluators.delete(handle);
    await evaluator?.session.release();
  }

  async qualityMetrics(files: QualityMetricFiles): Promise<QualityMetrics> {
    if ((files.referenceMu === undefined) !== (files.referenceSigma === undefined)) {
      throw new Error('Give --reference-mu and --reference-sigma together, or neither (the statistics are then estimated from --reference).');
    }
    const features = await readFeatureMatrix(files.features);
    const logits = files.logits ? await readFeatureMatrix(files.logits) : null;
    const referenceFeatures = await readFeatureMatrix(files.reference);
    const statistics =
      files.referenceMu && files.referenceSigma ? { mu: await readVector(files.referenceMu), sigma: await readSquareMatrix(files.referenceSigma) } : undefined;
    const reference = await prepareReference(referenceFeatures, this.kernels, statistics, files.neighbourhood);
    return qualityMetrics(features, logits, reference, this.kernels, { splitSize: files.splitSize });
  }
}
