/** Finding a class by index, name or synonym, with "did you mean" suggestions. */
import { distance } from 'fastest-levenshtein';
import type { ModelManifest } from './manifest';

export class UnknownClassError extends Error {
  constructor(
    message: string,
    readonly suggestions: string[],
  ) {
    super(message);
    this.name = 'UnknownClassError';
  }
}

function normalise(name: string): string {
  return name.trim().toLowerCase().replace(/[\s_-]+/g, ' ');
}

/** Resolves "7", "sneaker" or "Ankle boot" to a class index of the model. */
export function findClass(classes: ModelManifest['classes'], query: string): number {
  const text = query.trim();
  if (/^\d+$/.test(text)) {
    const index = Number.parseInt(text, 10);
    if (index >= classes.count) throw new UnknownClassError(`Class ${index} is out of range: this model has classes 0 to ${classes.count - 1}.`, []);
    return index;
  }
  const wanted = normalise(text);
  const candidates: { name: string; index: number }[] = [];
  classes.names.forEach((name, index) => {
    candidates.push({ name, index });
    for (const synonym of classes.synonyms[index] ?? []) candidates.push({ name: synonym, index });
  });
  const exact = candidates.find((candidate) => normalise(candidate.name) === wanted);
  if (exact) return exact.index;
  const ranked = candidates
    .map((candidate) => ({ ...candidate, distance: distance(normalise(candidate.name), wanted) }))
    .sort((a, b) => a.distance - b.distance);
  const suggestions: string[] = [];
  for (const candidate of ranked) {
    const label = classes.names[candidate.index] as string;
    const shown = normalise(candidate.name) === normalise(label) ? label : `${candidate.name} (${label})`;
    if (candidate.distance <= Math.max(1, Math.floor(wanted.length / 3)) && !suggestions.includes(shown)) suggestions.push(shown);
    if (suggestions.length === 3) break;
  }
  const hint = suggestions.length > 0 ? ` Did you mean ${suggestions.map((name) => `"${name}"`).join(', ')}?` : ` Use a class index from 0 to ${classes.count - 1} or one of its names.`;
  throw new UnknownClassError(`No class is called "${query}".${hint}`, suggestions);
}
