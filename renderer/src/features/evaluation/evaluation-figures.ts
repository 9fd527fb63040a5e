/**
 * How the page words an evaluation's figures: the Inception Score's splits beside it, repeats
 * over seed offsets as mean ± standard deviation, and the warning a small sample count earns.
 */
import { dequal } from 'dequal';
import { drawnGuidance, type EvaluationRecord, type EvaluationResult, type EvaluationSpec } from '../../../../common/contract/evaluation';

const count = (value: number) => value.toLocaleString('en-US');

/** "1 split of 1,000", "2 splits of 5,000 and 1 of 2,000"; the figures before splits followed the reference say so. */
export function inceptionSplitsLabel(splitSizes: readonly number[] | null): string {
  if (splitSizes === null) return '10 equal splits, before splits followed the reference evaluator';
  const full = splitSizes.filter((size) => size === splitSizes[0]).length;
  const first = `${full} split${full === 1 ? '' : 's'} of ${count(splitSizes[0]!)}`;
  const last = splitSizes.length > full ? ` and 1 of ${count(splitSizes[splitSizes.length - 1]!)}` : '';
  return first + last;
}

/** Mean and sample standard deviation (n − 1); the deviation is null for a single value. */
export function meanAndDeviation(values: readonly number[]): { mean: number; deviation: number | null } {
  const mean = values.reduce((total, value) => total + value, 0) / values.length;
  if (values.length < 2) return { mean, deviation: null };
  const variance = values.reduce((total, value) => total + (value - mean) ** 2, 0) / (values.length - 1);
  return { mean, deviation: Math.sqrt(variance) };
}

/** The spec as the sampler reads it: defaults filled in and the seed offset left out. */
function drawnSettings(spec: EvaluationSpec) {
  const { seedOffset: _offset, ...rest } = spec;
  return { ...rest, ...drawnGuidance(spec) };
}

function sameButSeeds(a: EvaluationSpec, b: EvaluationSpec): boolean {
  return dequal(drawnSettings(a), drawnSettings(b));
}

/**
 * The completed evaluations that repeat `record` with other seed offsets (it included, when
 * completed), one per offset: their figures at a scale are samples of one distribution.
 */
export function repeatsOf(record: EvaluationRecord, evaluations: readonly EvaluationRecord[]): EvaluationRecord[] {
  const byOffset = new Map<number, EvaluationRecord>();
  for (const other of [record, ...evaluations]) {
    if (other.status !== 'completed' || !sameButSeeds(other.spec, record.spec)) continue;
    if (!byOffset.has(other.spec.seedOffset)) byOffset.set(other.spec.seedOffset, other);
  }
  return [...byOffset.values()];
}

export type FigureName = 'fid' | 'sfid' | 'inceptionScore' | 'precision' | 'recall' | 'density' | 'coverage' | 'classAccuracy';

/** "12.500 ± 0.300 (3 seed offsets)" when repeats have the figure at this scale, else the figure alone. */
export function figureOverRepeats(repeats: readonly EvaluationRecord[], scale: number, figure: FigureName, places: number): string | null {
  const values = repeats
    .map((repeat) => repeat.results.find((result) => result.scale === scale)?.[figure] ?? null)
    .filter((value): value is number => value !== null);
  if (values.length === 0) return null;
  const { mean, deviation } = meanAndDeviation(values);
  if (deviation === null) return mean.toFixed(places);
  return `${mean.toFixed(places)} ± ${deviation.toFixed(places)} (${values.length} seed offsets)`;
}

/** A sentence when the figure's sample count is below the reference batch's, whose FID it biases upward. */
export function smallSampleWarning(result: EvaluationResult): string | null {
  const reference = result.provenance?.referenceCount;
  if (reference === undefined || result.sampleCount >= reference) return null;
  return (
    `FID at ${count(result.sampleCount)} samples is biased upward against a reference of ${count(reference)} ` +
    `(the built-in model's floor is 7.08 at 1,000 samples and 1.62 at 5,000): compare figures only at equal sample counts, ` +
    `or raise the samples per scale to ${count(reference)}.`
  );
}
