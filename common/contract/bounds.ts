/**
 * Resource bounds of everything that crosses a process boundary, and the zod pieces that
 * enforce them with a sentence naming the limit. A request from the page, the `serve` bridge,
 * a preset or a PNG recipe is checked here before any work is queued, so a mistyped or hostile
 * value (a million seeds, a megabyte model id) is answered at once instead of exhausting memory.
 */
import { z } from 'zod';

/** Seeds one run may draw; the page's Images field offers the same. */
export const MAX_SEEDS_PER_RUN = 1024;
/** Samples one engine batch may hold. */
export const MAX_BATCH_SIZE = 256;
/** Guidance scales one sweep may run. */
export const MAX_SWEEP_SCALES = 16;
/** Samples per guidance scale of an evaluation: FID is usually quoted at 50,000. */
export const MAX_EVALUATION_SAMPLES_PER_SCALE = 50_000;
/** Guidance scales one evaluation may score. */
export const MAX_EVALUATION_SCALES = 32;
/** Classes one evaluation may cycle through (ImageNet has 1000); the model's own count is checked on arrival. */
export const MAX_EVALUATION_CLASSES = 1000;
/** Largest guidance scale the page offers: far past where samples stop improving (the paper's best are at 1 to 10). */
export const MAX_GUIDANCE_SCALE = 100;
/** Largest file one export sends to the page: far below the bridge's message limit once base64 is added. */
export const MAX_EXPORT_BYTES = 48 * 1024 * 1024;
/** Samples one zip export takes. */
export const MAX_ZIP_EXPORT_SAMPLES = 1024;
/** Largest class index any request may name; a manifest may declare at most this many classes. */
export const MAX_CLASS_COUNT = 100_000;

/** Largest sampling step a switch or a fork may name: far past the 1,000 steps of the released models; the model's own step count is checked on arrival. */
export const MAX_SWITCH_STEP = 100_000;

/** Longest text, in characters, of each kind of string a request or a recipe may carry. */
export const TEXT_LIMITS = {
  modelId: 200,
  steps: 64,
  tag: 64,
  notes: 10_000,
  notesSearch: 200,
  presetName: 100,
  className: 100,
  appVersion: 100,
  noiseAlgorithm: 100,
  timestamp: 64,
} as const;

/** How much of a user's string an error message repeats. */
export const QUOTED_CHARACTERS = 60;

function isControlCharacter(character: string): boolean {
  const code = character.codePointAt(0) ?? 0;
  return code < 0x20 || (code >= 0x7f && code < 0xa0);
}

/**
 * The start of a user's string in quotes, cut to QUOTED_CHARACTERS and with control characters
 * shown as "?", so an error message never echoes a huge or unprintable value.
 */
export function quoteStart(text: string): string {
  const characters = Array.from(text.slice(0, QUOTED_CHARACTERS * 2));
  const shown = characters
    .slice(0, QUOTED_CHARACTERS)
    .map((character) => (isControlCharacter(character) ? '?' : character))
    .join('');
  const cut = characters.length > QUOTED_CHARACTERS || text.length > QUOTED_CHARACTERS * 2;
  return `"${shown}${cut ? '…' : ''}"`;
}

/** One formatter for every count: toLocaleString builds a new one per call, and the schemas format hundreds of bounds as they load. */
const digitGroups = new Intl.NumberFormat('en-US');

/** A count for a sentence: digit groups for whole numbers, three significant digits for anything else. */
export function formatCount(value: number): string {
  if (Number.isSafeInteger(value)) return digitGroups.format(value);
  return Number.isFinite(value) ? value.toPrecision(3) : String(value);
}

function lengthOf(input: unknown): number {
  return typeof input === 'string' || Array.isArray(input) ? input.length : 0;
}

/**
 * A string of at most `max` characters; `what` names it in the error ("a model id").
 * Longer strings are refused with the limit and the first characters of what was sent.
 */
export function boundedText(what: string, max: number): z.ZodString {
  return z.string().max(max, {
    error: (issue) =>
      `${what} has at most ${formatCount(max)} characters (got ${formatCount(lengthOf(issue.input))}, starting ${quoteStart(String(issue.input ?? ''))}); shorten it`,
  });
}

/** A non-empty string of at most `max` characters. */
export function requiredText(what: string, max: number): z.ZodString {
  return boundedText(what, max).min(1, { error: `${what} must not be empty` });
}

/**
 * A list of at most `max` entries. `tooMany` writes the sentence from the limit and the count
 * sent, e.g. "at most 1024 seeds per run (got 1000000); split it into several runs".
 */
export function boundedList<Item extends z.ZodType>(item: Item, max: number, tooMany: (max: string, got: string) => string): z.ZodArray<Item> {
  return z.array(item).max(max, { error: (issue) => tooMany(formatCount(max), formatCount(lengthOf(issue.input))) });
}

/** A whole number from `min` to `max`, with a sentence naming the range. */
export function boundedWholeNumber(what: string, min: number, max: number, hint = ''): z.ZodNumber {
  const range = `${what} must be a whole number from ${formatCount(min)} to ${formatCount(max)}`;
  const sentence = (issue: { input?: unknown }) => `${range} (got ${typeof issue.input === 'number' ? formatCount(issue.input) : 'another value'})${hint}`;
  return z.number({ error: `${range}${hint}` }).int({ error: sentence }).min(min, { error: sentence }).max(max, { error: sentence });
}

/** True when no value of the list appears twice. */
export function allDistinct(values: readonly number[]): boolean {
  return new Set(values).size === values.length;
}

/** Problems an error sentence lists before it says how many more there are. */
const LISTED_PROBLEMS = 3;

/**
 * The problems of a failed parse in one bounded sentence: the first few, each with where it is
 * (path segments cut like user strings), and how many more there are.
 */
export function describeProblems(error: z.ZodError): string {
  const listed = error.issues.slice(0, LISTED_PROBLEMS).map((issue) => {
    const where = issue.path.map((segment) => (typeof segment === 'string' ? quoteStart(segment).slice(1, -1) : String(segment))).join('.');
    return where === '' ? issue.message : `${where}: ${issue.message}`;
  });
  const more = error.issues.length - listed.length;
  return more > 0 ? `${listed.join('; ')}; and ${formatCount(more)} more` : listed.join('; ');
}
