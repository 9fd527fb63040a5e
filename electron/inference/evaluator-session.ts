/**
 * A model's evaluator graph (manifest `evaluator`) inside the inference worker: images in model
 * space in, penultimate features and class logits out, for the quality metrics. The folder is
 * verified (sha256, no paths leaving it) before the graph is opened.
 */
import type { ProviderName } from '../../common/contract/run-request';
import type { ModelManifest } from '../../common/models/manifest';
import { featureMatrix, type FeatureMatrix } from '../metrics/dense-matrix';
import type { ReferenceFiles } from '../metrics/image-scores';
import { openModelFolder } from './model-folder';
import { checkGraphInputs, openSession, ort, runChecked, type ConcreteProvider } from './sessions';

export interface EvaluatorOutputs {
  features: FeatureMatrix;
  logits: FeatureMatrix;
  /** The spatial features sFID compares, when the manifest names a `spatial` output. */
  spatial?: FeatureMatrix;
}

export interface EvaluatorSession {
  readonly manifest: ModelManifest;
  readonly provider: ConcreteProvider;
  readonly reference: ReferenceFiles;
  /** `images`: `count` images, [C, H, W] each, values in [-1, 1]; `cancelled` is asked before every batch. */
  evaluate(images: Float32Array, count: number, cancelled?: () => boolean): Promise<EvaluatorOutputs>;
  release(): Promise<void>;
}

export interface EvaluatorSessionOptions {
  provider: ProviderName;
  /** CPU threads per operator; 0 lets onnxruntime decide. */
  threads: number;
  /** Images per evaluator call. */
  batchSize?: number;
}

export function evaluationCancelledError(): Error {
  const error = new Error('The evaluation was cancelled.');
  error.name = 'AbortError';
  return error;
}

function joined(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((total, part) => total + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

export async function openEvaluatorSession(modelDir: string, options: EvaluatorSessionOptions): Promise<EvaluatorSession> {
  const folder = await openModelFolder(modelDir, { parts: ['evaluator'] });
  const { manifest } = folder;
  const evaluator = manifest.evaluator;
  if (evaluator === null) {
    throw new Error(`The model "${manifest.id}" has no evaluator network, so its samples cannot be scored. Export one into its folder (python -m studio_tools.metrics) first.`);
  }
  const { session, provider } = await openSession(folder.file(evaluator.file), 'evaluator', options);
  const spatialOutput = evaluator.outputs.spatial;
  checkGraphInputs(session, 'evaluator', [{ name: evaluator.input, role: 'images' }], [
    evaluator.outputs.features,
    evaluator.outputs.logits,
    ...(spatialOutput === undefined ? [] : [spatialOutput]),
  ]);
  const { size, channels } = manifest.image;
  const imageLength = channels * size * size;
  const batchSize = options.batchSize ?? 64;

  async function evaluate(images: Float32Array, count: number, cancelled: () => boolean = () => false): Promise<EvaluatorOutputs> {
    if (images.length !== count * imageLength) {
      throw new Error(`The evaluator needs ${count} images of ${channels}×${size}×${size} values, got ${images.length} values.`);
    }
    const features: Float32Array[] = [];
    const logits: Float32Array[] = [];
    const spatial: Float32Array[] = [];
    let featureDimension = 0;
    let classDimension = 0;
    let spatialDimension = 0;
    for (let start = 0; start < count; start += batchSize) {
      if (cancelled()) throw evaluationCancelledError();
      const batch = Math.min(batchSize, count - start);
      const input = new ort.Tensor('float32', images.subarray(start * imageLength, (start + batch) * imageLength), [batch, channels, size, size]);
      const outputs = await runChecked(session, 'evaluator', { [evaluator!.input]: input });
      const featureTensor = outputs[evaluator!.outputs.features]!;
      const logitTensor = outputs[evaluator!.outputs.logits]!;
      featureDimension = featureTensor.dims[1] ?? 0;
      classDimension = logitTensor.dims[1] ?? 0;
      features.push(Float32Array.from(featureTensor.data as Float32Array));
      logits.push(Float32Array.from(logitTensor.data as Float32Array));
      if (spatialOutput !== undefined) {
        const spatialTensor = outputs[spatialOutput]!;
        spatialDimension = spatialTensor.data.length / batch;
        spatial.push(Float32Array.from(spatialTensor.data as Float32Array));
      }
    }
    return {
      features: featureMatrix(joined(features), count, featureDimension),
      logits: featureMatrix(joined(logits), count, classDimension),
      ...(spatialOutput === undefined ? {} : { spatial: featureMatrix(joined(spatial), count, spatialDimension) }),
    };
  }

  return {
    manifest,
    provider,
    reference: {
      mu: folder.file(evaluator.reference.mu),
      sigma: folder.file(evaluator.reference.sigma),
      features: folder.file(evaluator.reference.features),
      ...(evaluator.reference.spatial_mu !== undefined && evaluator.reference.spatial_sigma !== undefined
        ? { spatialMu: folder.file(evaluator.reference.spatial_mu), spatialSigma: folder.file(evaluator.reference.spatial_sigma) }
        : {}),
    },
    evaluate,
    release: () => session.release(),
  };
}
