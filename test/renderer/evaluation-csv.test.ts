import { describe, expect, it } from 'vitest';
import type { EvaluationRecord } from '../../common/contract/gallery';
import { evaluationCsv, evaluationCsvFileName } from '../../renderer/src/features/evaluation/evaluation-csv';

const record: EvaluationRecord = {
  id: 7,
  spec: { modelId: 'fashion-mnist', classes: [0, 1], scales: [0, 4], mode: 'unconditional+classifier', sampler: 'ddim', steps: 'ddim25', eta: 0, samplesPerScale: 100 },
  status: 'completed',
  error: null,
  createdAt: 0,
  endedAt: 1,
  results: [
    { scale: 0, sampleCount: 100, fid: 12.5, inceptionScore: 7.25, precision: 0.5, recall: 0.75, classAccuracy: 0.9 },
    { scale: 4, sampleCount: 100, fid: 20, inceptionScore: null, precision: 0.875, recall: 0.25, classAccuracy: null },
  ],
};

describe('evaluation CSV export', () => {
  it('writes one row per scale with empty cells for missing figures', () => {
    expect(evaluationCsv(record)).toBe(
      'scale,samples,fid,inception_score,precision,recall,class_accuracy\r\n0,100,12.5,7.25,0.5,0.75,0.9\r\n4,100,20,,0.875,0.25,\r\n',
    );
  });

  it('names the file after the evaluation, model and sampler', () => {
    expect(evaluationCsvFileName(record)).toBe('evaluation-7-fashion-mnist-ddim-ddim25.csv');
  });
});
