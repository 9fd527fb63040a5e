/**
 * Class search over names and synonyms. The haystack is lower-cased once per model, so a
 * keystroke over the 1000 ImageNet classes is a single pass of `includes` calls.
 */

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
    lowerNames: names.map((name) => name.toLowerCase()),
    lowerSynonyms: entries.map((entry) => entry.synonyms.map((synonym) => synonym.toLowerCase())),
  };
}

/** Rank: exact name, name prefix, word prefix in the name, synonym match, substring of the name. */
function rankOf(text: string, query: string): number {
  if (text === query) return 0;
  if (text.startsWith(query)) return 1;
  if (text.includes(` ${query}`) || text.includes(`-${query}`) || text.includes(`/${query}`)) return 2;
  if (text.includes(query)) return 4;
  return -1;
}

export function searchClasses(index: ClassIndex, rawQuery: string, limit = 200): ClassMatch[] {
  const query = rawQuery.trim().toLowerCase();
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
