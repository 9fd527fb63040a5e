/**
 * Finding classes by index, name or synonym, for the class picker (ranked matches as the user
 * types) and the command line (one class, or "did you mean"). Both normalise text the same way:
 * case, spaces, underscores and hyphens do not matter ("ankle_boot" is "Ankle boot"). The
 * haystack is normalised once per model, so a keystroke over the 1000 ImageNet classes is a
 * single pass of `includes` calls.
 */
import { distance } from 'fastest-levenshtein';
import type { ModelManifest } from './manifest';

/** Lower case, with runs of spaces, underscores and hyphens as one space. */
export function normaliseClassText(text: string): string {
  return text.trim().toLowerCase().replace(/[\s_-]+/g, ' ');
}

export interface ClassEntry {
  index: number;
  name: string;
  synonyms: readonly string[];
}

export interface ClassIndex {
  entries: readonly ClassEntry[];
  lowerNames: readonly string[];
  lowerSynonyms: readonly (readonly string[])[];
}

export interface ClassMatch {
  entry: ClassEntry;
  /** The synonym that matched when the name itself did not. */
  via: string | null;
}

export function buildClassIndex(names: readonly string[], synonyms: readonly (readonly string[])[]): ClassIndex {
  const entries = names.map((name, index) => ({ index, name, synonyms: synonyms[index] ?? [] }));
  return {
    entries,
    lowerNames: names.map(normaliseClassText),
    lowerSynonyms: entries.map((entry) => entry.synonyms.map(normaliseClassText)),
  };
}

/**
 * The query without a plural ending, so "trainers" finds "trainer" and "boots" finds "boot";
 * short words keep theirs ("bus", "gas"). English plurals only: the built-in and ImageNet names are English.
 */
export function singularOf(query: string): string {
  return query
    .split(' ')
    .map((word) => {
      if (word.length <= 3 || word.endsWith('ss')) return word;
      if (/(ch|sh|x|ss)es$/.test(word)) return word.slice(0, -2);
      if (word.endsWith('s')) return word.slice(0, -1);
      return word;
    })
    .join(' ');
}

function rankOfText(text: string, query: string): number {
  if (text === query) return 0;
  if (text.startsWith(query)) return 1;
  if (text.includes(` ${query}`) || text.includes(`/${query}`)) return 2;
  if (text.includes(query)) return 4;
  return -1;
}

/** Rank: exact name, name prefix, word prefix in the name, synonym match, substring of the name; a plural query ranks as its singular. */
function rankOf(text: string, query: string): number {
  const rank = rankOfText(text, query);
  if (rank >= 0) return rank;
  const singular = singularOf(query);
  return singular === query ? -1 : rankOfText(text, singular);
}

export function searchClasses(index: ClassIndex, rawQuery: string, limit = 200): ClassMatch[] {
  const query = normaliseClassText(rawQuery);
  if (query === '') return index.entries.slice(0, limit).map((entry) => ({ entry, via: null }));
  const asNumber = /^\d+$/.test(query) ? Number(query) : null;
  const ranked: { rank: number; match: ClassMatch }[] = [];
  index.entries.forEach((entry, i) => {
    if (asNumber !== null && entry.index === asNumber) {
      ranked.push({ rank: -1, match: { entry, via: null } });
      return;
    }
    const nameRank = rankOf(index.lowerNames[i]!, query);
    if (nameRank >= 0 && nameRank < 4) {
      ranked.push({ rank: nameRank, match: { entry, via: null } });
      return;
    }
    const synonyms = index.lowerSynonyms[i]!;
    for (let s = 0; s < synonyms.length; s++) {
      const synonymRank = rankOf(synonyms[s]!, query);
      if (synonymRank >= 0) {
        ranked.push({ rank: 3 + (synonymRank > 1 ? 2 : 0), match: { entry, via: entry.synonyms[s]! } });
        return;
      }
    }
    if (nameRank === 4) ranked.push({ rank: 4, match: { entry, via: null } });
  });
  ranked.sort((a, b) => a.rank - b.rank || a.match.entry.index - b.match.entry.index);
  return ranked.slice(0, limit).map((item) => item.match);
}

/**
 * The class a typed name, synonym, plural or index stands for exactly; null when none does.
 * For fields that take a list of classes ("dress, trainers, 9"), where a guess would be wrong.
 */
export function exactClassIndex(names: readonly string[], synonyms: readonly (readonly string[])[], query: string): number | null {
  const wanted = normaliseClassText(query);
  if (/^\d+$/.test(wanted)) {
    const index = Number(wanted);
    return index < names.length ? index : null;
  }
  for (const text of [wanted, singularOf(wanted)]) {
    const index = names.findIndex((name, i) => normaliseClassText(name) === text || (synonyms[i] ?? []).some((synonym) => normaliseClassText(synonym) === text));
    if (index >= 0) return index;
  }
  return null;
}

export class UnknownClassError extends Error {
  constructor(
    message: string,
    readonly suggestions: string[],
  ) {
    super(message);
    this.name = 'UnknownClassError';
  }
}

/** Resolves "7", "sneaker" or "Ankle boot" to a class index of the model. */
export function findClass(classes: ModelManifest['classes'], query: string): number {
  const text = query.trim();
  if (/^\d+$/.test(text)) {
    const index = Number.parseInt(text, 10);
    if (index >= classes.count) throw new UnknownClassError(`Class ${index} is out of range: this model has classes 0 to ${classes.count - 1}.`, []);
    return index;
  }
  const wanted = normaliseClassText(text);
  const candidates: { name: string; index: number }[] = [];
  classes.names.forEach((name, index) => {
    candidates.push({ name, index });
    for (const synonym of classes.synonyms[index] ?? []) candidates.push({ name: synonym, index });
  });
  const exact =
    candidates.find((candidate) => normaliseClassText(candidate.name) === wanted) ??
    candidates.find((candidate) => normaliseClassText(candidate.name) === singularOf(wanted));
  if (exact) return exact.index;
  const ranked = candidates
    .map((candidate) => ({ ...candidate, distance: distance(normaliseClassText(candidate.name), wanted) }))
    .sort((a, b) => a.distance - b.distance);
  const suggestions: string[] = [];
  for (const candidate of ranked) {
    const label = classes.names[candidate.index] as string;
    const shown = normaliseClassText(candidate.name) === normaliseClassText(label) ? label : `${candidate.name} (${label})`;
    if (candidate.distance <= Math.max(1, Math.floor(wanted.length / 3)) && !suggestions.includes(shown)) suggestions.push(shown);
    if (suggestions.length === 3) break;
  }
  const hint = suggestions.length > 0 ? ` Did you mean ${suggestions.map((name) => `"${name}"`).join(', ')}?` : ` Use a class index from 0 to ${classes.count - 1} or one of its names.`;
  throw new UnknownClassError(`No class is called "${query}".${hint}`, suggestions);
}
