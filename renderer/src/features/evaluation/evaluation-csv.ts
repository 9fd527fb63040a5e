/** The evaluation table as CSV (RFC 4180), one row per guidance scale, with what each row was measured on. */
import type { EvaluationRecord } from '../../../../common/contract/evaluation';

export const CSV_COLUMNS = [
  'scale',
  'samples',
  'fid',
  'sfid',
  'inception_score',
  'inception_split_sizes',
  'precision',
  'recall',
  'density',
  'coverage',
  'class_accuracy',
  'first_seed',
  'last_seed',
  'evaluator_sha256',
  'reference_sha256',
] as const;

function cell(value: number | string | null): string {
  if (value === null) return '';
  const text = String(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function evaluationCsv(record: EvaluationRecord): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const result of record.results) {
    const { provenance } = result;
    lines.push(
      [
        result.scale,
        result.sampleCount,
        result.fid,
        result.sfid,
        result.inceptionScore,
        result.inceptionSplitSizes === null ? null : result.inceptionSplitSizes.join(' '),
        result.precision,
        result.recall,
        result.density,
        result.coverage,
        result.classAccuracy,
        provenance?.firstSeed ?? null,
        provenance?.lastSeed ?? null,
        provenance?.evaluatorSha256 ?? null,
        provenance?.referenceFeaturesSha256 ?? null,
      ]
        .map(cell)
        .join(','),
    );
  }
  return `${lines.join('\r\n')}\r\n`;
}

export function evaluationCsvFileName(record: EvaluationRecord): string {
  const model = record.spec.modelId.replace(/[^a-z0-9._-]+/gi, '-');
  return `evaluation-${record.id}-${model}-${record.spec.sampler}-${record.spec.steps}.csv`;
}
