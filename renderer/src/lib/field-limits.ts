/**
 * What each number field of the settings panel accepts, in one place, with the limits of the
 * contract (common/contract/bounds.ts). A field shows what the user typed; while that text is not
 * an allowed value the field says what is allowed and Generate waits, so the page never shows one
 * value and runs another.
 */
import { MAX_BATCH_SIZE, MAX_GUIDANCE_SCALE, MAX_SEEDS_PER_RUN, formatCount } from '../../../common/contract/bounds';
import { maxSeed } from './seeds';

export type FieldCheck = { ok: true; value: number } | { ok: false; problem: string };

export interface WholeNumberLimits {
  /** The field's name in a sentence: "Images". */
  what: string;
  min: number;
  max: number;
}

export const imagesLimits: WholeNumberLimits = { what: 'Images', min: 1, max: MAX_SEEDS_PER_RUN };
export const batchLimits: WholeNumberLimits = { what: 'Batch size', min: 1, max: MAX_BATCH_SIZE };
export const seedLimits: WholeNumberLimits = { what: 'The seed', min: 0, max: maxSeed };
export const subseedLimits: WholeNumberLimits = { what: 'The variation seed', min: 0, max: maxSeed };
export const scaleLimits = { min: 0, max: MAX_GUIDANCE_SCALE } as const;

/** Digits only, so "2.5", "1e3", "-1" and " 4" are not whole numbers a user meant. */
const wholeNumberText = /^\d+$/;

export function checkWholeNumber(text: string, limits: WholeNumberLimits): FieldCheck {
  const range = `${formatCount(limits.min)} to ${formatCount(limits.max)}`;
  const trimmed = text.trim();
  if (trimmed === '') return { ok: false, problem: `${limits.what} is empty: type a whole number from ${range}.` };
  if (!wholeNumberText.test(trimmed)) return { ok: false, problem: `${limits.what} must be a whole number from ${range}; “${trimmed.slice(0, 24)}” is not.` };
  const value = Number(trimmed);
  if (value < limits.min || value > limits.max) return { ok: false, problem: `${limits.what} must be from ${range}; ${formatCount(value)} is out of range.` };
  return { ok: true, value };
}

export function checkScale(text: string): FieldCheck {
  const trimmed = text.trim();
  const range = `${scaleLimits.min} to ${scaleLimits.max}`;
  const value = trimmed === '' ? Number.NaN : Number(trimmed);
  if (!Number.isFinite(value)) return { ok: false, problem: `The guidance scale must be a number from ${range}; “${trimmed.slice(0, 24)}” is not.` };
  if (value < scaleLimits.min || value > scaleLimits.max) {
    return { ok: false, problem: `The guidance scale must be from ${range}; ${formatCount(value)} is out of range.` };
  }
  return { ok: true, value };
}

/** The variation strength: a fraction from 0 (the seed's own image) to 1 (the subseed's). */
export function checkStrength(text: string): FieldCheck {
  const trimmed = text.trim();
  const value = trimmed === '' ? Number.NaN : Number(trimmed);
  if (!Number.isFinite(value)) return { ok: false, problem: `The variation strength must be a number from 0 to 1; “${trimmed.slice(0, 24)}” is not.` };
  if (value < 0 || value > 1) return { ok: false, problem: `The variation strength must be from 0 (the seed's own image) to 1 (the variation seed's); ${formatCount(value)} is out of range.` };
  return { ok: true, value };
}
