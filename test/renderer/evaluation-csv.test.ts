import { describe, expect, it } from 'vitest';
import type { EvaluationProvenance, EvaluationRecord } from '../../common/contract/evaluation';
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
      'scale,samples,fid,sfid,inception_score,inception_split_sizes,precision,recall,density,coverage,class_accuracy,first_seed,last_seed,mode,cfg_scale,guidance_schedule,evaluator_sha256,reference_sha256\r\n' +
        '0,100,12.5,,7.25,100,0.5,0.75,0.5,0.625,0.9,,,unconditional+classifier,,constant,,\r\n' +
        '4,100,20,3.5,,,0.875,0.25,,,,,,unconditional+classifier,,constant,,\r\n',
    );
  });

  const provenance: EvaluationProvenance = {
    sampleCount: 100,
    firstSeed: 0,
    lastSeed: 99,
    sampler: 'ddim',
    steps: 'ddim25',
    eta: 0,
    mode: 'classifier-free+classifier',
    cfgScale: 3,
    guidanceSchedule: { kind: 'interval', tLo: 200, tHi: 800 },
    evaluatorSha256: 'a'.repeat(64),
    referenceFeaturesSha256: 'b'.repeat(64),
    referenceMuSha256: 'c'.repeat(64),
    referenceSigmaSha256: 'd'.repeat(64),
    referenceCount: 1000,
  };

  it('names each row\'s mode, classifier-free weight and schedule from its provenance, in the --schedule form', () => {
    const guided: EvaluationRecord = {
      ...record,
      spec: { ...record.spec, mode: 'classifier-free+classifier', cfgScale: 3, guidanceSchedule: { kind: 'interval', tLo: 200, tHi: 800 } },
      results: [{ ...record.results[0]!, provenance }],
    };
    expect(evaluationCsv(guided).split('\r\n')[1]).toBe(`0,100,12.5,,7.25,100,0.5,0.75,0.5,0.625,0.9,0,99,classifier-free+classifier,3,interval:200-800,${'a'.repeat(64)},${'b'.repeat(64)}`);
  });

  it('gives the default w and a constant schedule for classifier-free figures stored before provenance named them', () => {
    const { cfgScale: _weight, guidanceSchedule: _schedule, ...older } = provenance;
    const stored: EvaluationRecord = { ...record, spec: { ...record.spec, mode: 'classifier-free' }, results: [{ ...record.results[0]!, provenance: { ...older, mode: 'classifier-free' } }] };
    expect(evaluationCsv(stored).split('\r\n')[1]).toContain(',0,99,classifier-free,2,constant,');
    const ramp: EvaluationRecord = { ...record, spec: { ...record.spec, guidanceSchedule: { kind: 'ramp', from: 4, to: 0 } } };
    expect(evaluationCsv(ramp).split('\r\n')[1]).toContain(',unconditional+classifier,,ramp:4-0,');
  });

  it('names the file after the evaluation, model and sampler', () => {
    expect(evaluationCsvFileName(record)).toBe('evaluation-7-fashion-mnist-ddim-ddim25.csv');
  });
});
