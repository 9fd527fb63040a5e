/** The evaluation table as CSV (RFC 4180), one row per guidance scale. */
import type { EvaluationRecord } from '../../../../common/contract/gallery';

export const CSV_COLUMNS = ['scale', 'samples', 'fid', 'inception_score', 'precision', 'recall', 'class_accuracy'] as const;

function cell(value: number | string | null): string {
  if (value === null) return '';
  const text = String(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function evaluationCsv(record: EvaluationRecord): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const result of record.results) {
    lines.push(
      [result.scale, result.sampleCount, result.fid, result.inceptionScore, result.precision, result.recall, result.classAccuracy]
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
