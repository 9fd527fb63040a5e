/**
 * The figures of a sharded evaluation, from the merged features and logits. They are computed
 * by the engine's inference worker (the one owner of onnxruntime) with the reference data and
 * the settings the single-machine evaluation scores with, so both give the same numbers for the
 * same seeds. The worker takes features as .npy files, so each scale's merged rows are written
 * to a temporary folder first.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { EvaluationResult, EvaluationSpec } from '../../common/contract/evaluation';
import type { ModelManifest } from '../../common/models/manifest';
import { encodeNpy } from '../../common/npy';
import type { Engine } from '../inference';
import { openModelFolder } from '../inference/model-folder';
import { imageScores } from '../metrics/image-scores';
import { readFeatureMatrix } from '../metrics/npy-files';
import { evaluationProvenance } from '../service/evaluation-provenance';
import { DEFAULT_NEIGHBOURHOOD } from '../metrics/precision-recall';
import { INCEPTION_SPLIT_SIZE } from '../metrics/inception-score';
import type { MergedOutputs } from './shard-results';

export interface FigureScorer {
  /** The verified manifest of the coordinator's model folder. */
  readonly manifest: ModelManifest;
  score(spec: EvaluationSpec, scale: number, outputs: MergedOutputs): Promise<EvaluationResult>;
}

/** Verifies the model folder (every file against its sha256) and scores through `engine`. */
export async function openFigureScorer(engine: Engine, modelDir: string): Promise<FigureScorer> {
  const folder = await openModelFolder(modelDir);
  const { evaluator } = folder.manifest;
  if (evaluator === null) throw new Error(`The model in ${folder.dir} has no evaluator network, so its evaluation cannot be scored. Export one into its folder.`);
  const classCount = folder.manifest.classes.count;
  let referenceCount: number | null = null;
  return {
    manifest: folder.manifest,
    async score(spec, scale, outputs) {
      referenceCount ??= (await readFeatureMatrix(folder.file(evaluator.reference.features))).count;
      const dir = await mkdtemp(path.join(tmpdir(), 'gds-shard-scores-'));
      try {
        const features = path.join(dir, 'features.npy');
        const logits = path.join(dir, 'logits.npy');
        await writeFile(features, encodeNpy(outputs.features.data, [outputs.features.count, outputs.features.dimension]));
        await writeFile(logits, encodeNpy(outputs.logits.data, [outputs.logits.count, outputs.logits.dimension]));
        const metrics = await engine.qualityMetrics({
          features,
          logits,
          reference: folder.file(evaluator.reference.features),
          referenceMu: folder.file(evaluator.reference.mu),
          referenceSigma: folder.file(evaluator.reference.sigma),
          neighbourhood: DEFAULT_NEIGHBOURHOOD,
          splitSize: INCEPTION_SPLIT_SIZE,
        });
        return {
          scale,
          ...imageScores(metrics, outputs.logits, outputs.classIndices, classCount),
          provenance: evaluationProvenance(spec, folder.manifest, metrics.sampleCount, referenceCount),
        };
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}
