import { describe, expect, it } from 'vitest';
import type { EvaluationRecord } from '../../common/contract/evaluation';
import { evaluationCsv, evaluationCsvFileName } from '../../renderer/src/features/evaluation/evaluation-csv';

const record: EvaluationRecord = {
  id: 7,
  spec: { modelId: 'fashion-mnist', classes: [0, 1], scales: [0, 4], mode: 'unconditional+classifier', sampler: 'ddim', steps: 'ddim25', eta: 0, samplesPerScale: 100, seedOffset: 0 },
  status: 'completed',
  error: null,
  createdAt: 0,
  endedAt: 1,
  results: [
    { scale: 0, sampleCount: 100, fid: 12.5, sfid: null, inceptionScore: 7.25, inceptionSplitSizes: [100], precision: 0.5, recall: 0.75, density: 0.5, coverage: 0.625, classAccuracy: 0.9, provenance: null },
    { scale: 4, sampleCount: 100, fid: 20, sfid: 3.5, inceptionScore: null, inceptionSplitSizes: null, precision: 0.875, recall: 0.25, density: null, coverage: null, classAccuracy: null, provenance: null },
  ],
};

describe('evaluation CSV export', () => {
  it('writes one row per scale with empty cells for missing figures', () => {
    expect(evaluationCsv(record)).toBe(
      'scale,samples,fid,sfid,inception_score,inception_split_sizes,precision,recall,density,coverage,class_accuracy,first_seed,last_seed,evaluator_sha256,reference_sha256\r\n' +
        '0,100,12.5,,7.25,100,0.5,0.75,0.5,0.625,0.9,,,,\r\n' +
        '4,100,20,3.5,,,0.875,0.25,,,,,,,\r\n',
    );
  });

  it('names the file after the evaluation, model and sampler', () => {
    expect(evaluationCsvFileName(record)).toBe('evaluation-7-fashion-mnist-ddim-ddim25.csv');
  });
});
