/**
 * What a stored figure was measured on: the seeds, the sampler and guidance settings (the
 * classifier-free weight and the schedule among them) and the sha256 of the
 * evaluator and of the reference batch's files, so figures from other weights, other reference
 * data or other sample counts are never taken for comparable ones.
 */
import { drawnGuidance, type EvaluationProvenance, type EvaluationSpec } from '../../common/contract/evaluation';
import type { ModelManifest } from '../../common/models/manifest';

/** What a scale's figures are measured on: the seeds, the sampler settings and the evaluator's files. */
export function evaluationProvenance(spec: EvaluationSpec, manifest: ModelManifest, sampleCount: number, referenceCount: number): EvaluationProvenance {
  const { evaluator } = manifest;
  if (evaluator === null) throw new Error(`The model "${spec.modelId}" has no evaluator network, so its figures cannot be traced to one.`);
  const sha256 = (file: string) => {
    const hash = manifest.files[file];
    if (hash === undefined) throw new Error(`The manifest of "${spec.modelId}" gives no sha256 for ${file}; convert the model again.`);
    return hash;
  };
  return {
    sampleCount,
    firstSeed: spec.seedOffset,
    lastSeed: spec.seedOffset + spec.samplesPerScale - 1,
    sampler: spec.sampler,
    steps: spec.steps,
    eta: spec.eta,
    mode: spec.mode,
    // The values the sampler used, so figures of w = 2 left implicit and w = 2 given read the same.
    ...drawnGuidance(spec),
    evaluatorSha256: sha256(evaluator.file),
    referenceFeaturesSha256: sha256(evaluator.reference.features),
    referenceMuSha256: sha256(evaluator.reference.mu),
    referenceSigmaSha256: sha256(evaluator.reference.sigma),
    referenceCount,
  };
}
