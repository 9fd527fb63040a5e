/**
 * A model's evaluator graph (manifest `evaluator`): images in model space in, penultimate
 * features and class logits out, for the quality metrics. The folder is verified (sha256,
 * no paths leaving it) before the graph is opened.
 */
import type { ProviderName } from '../../common/contract/run-request';
import type { ModelManifest } from '../../common/models/manifest';
import { featureMatrix, type FeatureMatrix } from '../metrics/dense-matrix';
import { openModelFolder } from './model-folder';
import { checkGraphInputs, openSession, ort, runChecked } from './sessions';

export interface EvaluatorOutputs {
  features: FeatureMatrix;
  logits: FeatureMatrix;
}

/** Absolute paths of the reference statistics of the real data. */
export interface ReferenceFiles {
  mu: string;
  sigma: string;
  features: string;
}

export interface EvaluatorNetwork {
  readonly manifest: ModelManifest;
  readonly provider: string;
  readonly reference: ReferenceFiles;
  /** `images`: `count` images, [C, H, W] each, values in [-1, 1]. */
  evaluate(images: Float32Array, count: number): Promise<EvaluatorOutputs>;
  release(): Promise<void>;
}

export interface EvaluatorOptions {
  provider?: ProviderName;
  /** CPU threads per operator; 0 lets onnxruntime decide. */
  threads?: number;
  /** Images per evaluator call. */
  batchSize?: number;
}

export async function openEvaluator(modelDir: string, options: EvaluatorOptions = {}): Promise<EvaluatorNetwork> {
  const folder = await openModelFolder(modelDir);
  const { manifest } = folder;
  const evaluator = manifest.evaluator;
  if (evaluator === null) {
    throw new Error(`The model "${manifest.id}" has no evaluator network, so its samples cannot be scored. Export one into its folder (python -m studio_tools.metrics) first.`);
  }
  const { session, provider } = await openSession(folder.file(evaluator.file), 'evaluator', {
    provider: options.provider ?? 'auto',
    threads: options.threads ?? 0,
  });
  checkGraphInputs(session, 'evaluator', [{ name: evaluator.input, role: 'images' }], [evaluator.outputs.features, evaluator.outputs.logits]);
  const { size, channels } = manifest.image;
  const imageLength = channels * size * size;
  const batchSize = options.batchSize ?? 64;

  async function evaluate(images: Float32Array, count: number): Promise<EvaluatorOutputs> {
    if (images.length !== count * imageLength) {
      throw new Error(`The evaluator needs ${count} images of ${channels}×${size}×${size} values, got ${images.length} values.`);
    }
    const features: Float32Array[] = [];
    const logits: Float32Array[] = [];
    let featureDimension = 0;
    let classDimension = 0;
    for (let start = 0; start < count; start += batchSize) {
      const batch = Math.min(batchSize, count - start);
      const input = new ort.Tensor('float32', images.subarray(start * imageLength, (start + batch) * imageLength), [batch, channels, size, size]);
      const outputs = await runChecked(session, 'evaluator', { [evaluator!.input]: input });
      const featureTensor = outputs[evaluator!.outputs.features]!;
      const logitTensor = outputs[evaluator!.outputs.logits]!;
      featureDimension = featureTensor.dims[1] ?? 0;
      classDimension = logitTensor.dims[1] ?? 0;
      features.push(Float32Array.from(featureTensor.data as Float32Array));
      logits.push(Float32Array.from(logitTensor.data as Float32Array));
    }
    const join = (parts: Float32Array[]) => {
      const out = new Float32Array(parts.reduce((total, part) => total + part.length, 0));
      let offset = 0;
      for (const part of parts) {
        out.set(part, offset);
        offset += part.length;
      }
      return out;
    };
    return {
      features: featureMatrix(join(features), count, featureDimension),
      logits: featureMatrix(join(logits), count, classDimension),
    };
  }

  return {
    manifest,
    provider,
    reference: {
      mu: folder.file(evaluator.reference.mu),
      sigma: folder.file(evaluator.reference.sigma),
      features: folder.file(evaluator.reference.features),
    },
    evaluate,
    release: () => session.release(),
  };
}
