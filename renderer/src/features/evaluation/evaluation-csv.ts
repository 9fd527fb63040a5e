/** The evaluation table as CSV (RFC 4180), one row per guidance scale, with what each row was measured on. */
import { drawnGuidance, type EvaluationRecord, type EvaluationResult } from '../../../../common/contract/evaluation';
import { scheduleText } from '../../../../common/contract/guidance-schedule-text';

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
  'mode',
  'cfg_scale',
  'guidance_schedule',
  'evaluator_sha256',
  'reference_sha256',
] as const;

function cell(value: number | string | null): string {
  if (value === null) return '';
  const text = String(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/**
 * The mode, w and schedule of a row: its provenance's, or for figures stored before provenance
 * named them, what the spec gave (the same rule the sampler follows).
 */
function guidanceOf(record: EvaluationRecord, result: EvaluationResult): { mode: string; cfgScale: number | null; schedule: string } {
  const { provenance } = result;
  const fromSpec = drawnGuidance(record.spec);
  return {
    mode: provenance?.mode ?? record.spec.mode,
    cfgScale: provenance?.cfgScale !== undefined ? provenance.cfgScale : fromSpec.cfgScale,
    schedule: scheduleText(provenance?.guidanceSchedule ?? fromSpec.guidanceSchedule),
  };
}

export function evaluationCsv(record: EvaluationRecord): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const result of record.results) {
    const { provenance } = result;
    const guidance = guidanceOf(record, result);
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
        guidance.mode,
        guidance.cfgScale,
        guidance.schedule,
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
