/**
 * The evaluation fixture the evaluation tests share: the evaluated-8px model (UNet, classifier
 * and evaluator with its reference statistics) and the quick spec most of them run, two scales
 * and two classes of a few DDIM steps, small enough for a unit test and large enough for FID.
 */
import { join } from 'node:path';
import type { EvaluationSpecInput } from '../../../common/contract/evaluation';

export const EVALUATION_MODELS = join(import.meta.dirname, '..', '..', 'fixtures', 'evaluation-models');
export const EVALUATED_MODEL = join(EVALUATION_MODELS, 'evaluated-8px');

export const quickEvaluationSpec: EvaluationSpecInput = {
  modelId: 'evaluated-8px',
  classes: [0, 2],
  scales: [0, 4],
  mode: 'unconditional+classifier',
  sampler: 'ddim',
  steps: 'ddim5',
  eta: 0,
  samplesPerScale: 12,
};
