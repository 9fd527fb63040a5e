/**
 * A model's evaluator as the main thread sees it: a handle to the graph the inference worker
 * opened. Feature extraction and the quality metrics run in the worker; each call sends the
 * images there and gets features or figures back, and an AbortSignal stops it between batches
 * and matrix products.
 */
import type { ModelManifest } from '../../common/models/manifest';
import type { FeatureMatrix } from '../metrics/dense-matrix';
import type { ImageScores, ReferenceFiles } from '../metrics/image-scores';
import type { ConcreteProvider } from './provider-order';
import type { StoredPngs } from './stored-pngs';
import type { CancelFlag, EvaluatorInfo, FromWorker, ReferenceSummary, ToWorker } from './worker-protocol';

export type { ReferenceFiles } from '../metrics/image-scores';
export type { ReferenceSummary } from './worker-protocol';

export interface EvaluatorOutputs {
  features: FeatureMatrix;
  logits: FeatureMatrix;
}

export interface EvaluatorNetwork {
  readonly manifest: ModelManifest;
  readonly provider: ConcreteProvider;
  readonly reference: ReferenceFiles;
  /** `images`: `count` images, [C, H, W] each, values in [-1, 1]. */
  evaluate(images: Float32Array, count: number, signal?: AbortSignal): Promise<EvaluatorOutputs>;
  /** Reads the reference statistics and computes its k-NN radii in the worker, once; later scores reuse them. */
  prepareReference(signal?: AbortSignal): Promise<ReferenceSummary>;
  /**
   * FID, precision, recall, Inception Score and class accuracy of `classIndices.length` images:
   * in model space, or the gallery's PNGs, which the worker decodes.
   */
  score(images: Float32Array | StoredPngs, classIndices: Int32Array, signal?: AbortSignal): Promise<ImageScores>;
  release(): Promise<void>;
}

/** Sends one request to the worker and settles with the answer `take` accepts (or the worker's error). */
export type WorkerCall = <R>(message: (id: number, cancelFlag: CancelFlag) => ToWorker, take: (answer: FromWorker) => R | undefined, signal?: AbortSignal) => Promise<R>;

export function remoteEvaluator(info: EvaluatorInfo, call: WorkerCall, release: () => Promise<void>): EvaluatorNetwork {
  const { handle } = info;
  return {
    manifest: info.manifest,
    provider: info.provider,
    reference: info.reference,
    evaluate: (images, count, signal) =>
      call(
        (id, cancelFlag) => ({ type: 'evaluate', id, handle, images, count, cancelFlag }),
        (answer) => (answer.type === 'evaluated' ? { features: answer.features, logits: answer.logits } : undefined),
        signal,
      ),
    prepareReference: (signal) =>
      call(
        (id, cancelFlag) => ({ type: 'prepareReference', id, handle, cancelFlag }),
        (answer) => (answer.type === 'referencePrepared' ? answer.reference : undefined),
        signal,
      ),
    score: (images, classIndices, signal) =>
      call(
        (id, cancelFlag) => ({ type: 'score', id, handle, images, classIndices, cancelFlag }),
        (answer) => (answer.type === 'scored' ? answer.scores : undefined),
        signal,
      ),
    release,
  };
}
