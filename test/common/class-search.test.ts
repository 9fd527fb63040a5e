import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildClassIndex, exactClassIndex, findClass, searchClasses, singularOf } from '../../common/models/class-search';

const imagenet = JSON.parse(
  readFileSync(new URL('../../models/tools/src/studio_tools/data/imagenet_classes.json', import.meta.url), 'utf8'),
) as { names: string[]; synonyms: string[][] };
const imagenetIndex = buildClassIndex(imagenet.names, imagenet.synonyms);

const fashion = buildClassIndex(
  ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'],
  [['t-shirt', 'tee', 'top'], ['trousers', 'pants'], ['sweater', 'jumper'], [], ['jacket'], [], [], ['trainer', 'running shoe'], ['handbag'], ['boot']],
);

function names(query: string, index = fashion): string[] {
  return searchClasses(index, query).map((match) => match.entry.name);
}

describe('class search', () => {
  it('lists every class, in label order, for an empty query', () => {
    expect(names('')).toHaveLength(10);
    expect(names('')[7]).toBe('Sneaker');
  });

  it('finds a class by any part of its name, ignoring case', () => {
    expect(names('sneak')).toEqual(['Sneaker']);
    expect(names('BOOT')[0]).toBe('Ankle boot');
  });

  it('finds a class by a synonym and says which synonym matched', () => {
    const [match] = searchClasses(fashion, 'trainer');
    expect(match?.entry.name).toBe('Sneaker');
    expect(match?.via).toBe('trainer');
    expect(names('pants')).toEqual(['Trouser']);
  });

  it('ranks an exact name before a prefix, and a prefix before a substring', () => {
    // "Shirt" exactly, then "T-shirt/top" where the word starts after a hyphen.
    expect(names('shirt')).toEqual(['Shirt', 'T-shirt/top']);
  });

  it('reads underscores, hyphens and spaces alike, as the command line does', () => {
    expect(names('ankle_boot')).toEqual(['Ankle boot']);
    expect(names('ANKLE-BOOT')).toEqual(['Ankle boot']);
    expect(names('t shirt')[0]).toBe('T-shirt/top');
    expect(names('running_shoe')).toEqual(['Sneaker']);
    const classes = { count: 10, names: fashion.entries.map((entry) => entry.name), synonyms: fashion.entries.map((entry) => [...entry.synonyms]), null_class: null };
    for (const query of ['ankle_boot', 'ANKLE-BOOT', 'running_shoe', 'Trouser']) {
      expect(findClass(classes, query), query).toBe(searchClasses(fashion, query)[0]?.entry.index);
    }
  });

  it('takes a number as a label index', () => {
    expect(names('7')[0]).toBe('Sneaker');
  });

  it('searches the 1000 ImageNet classes by name and synonym', () => {
    expect(imagenet.names).toHaveLength(1000);
    expect(searchClasses(imagenetIndex, 'golden retriever')[0]?.entry.index).toBe(207);
    expect(searchClasses(imagenetIndex, 'retriever').map((match) => match.entry.index)).toEqual(expect.arrayContaining([205, 206, 207, 208]));
    expect(searchClasses(imagenetIndex, 'zzzz-no-such-class')).toEqual([]);
    const started = performance.now();
    for (const query of ['g', 'go', 'gol', 'gold', 'golde', 'golden']) searchClasses(imagenetIndex, query);
    process.stdout.write(`six keystrokes over 1000 ImageNet classes: ${(performance.now() - started).toFixed(2)} ms\n`);
  });
});

describe('class search by meaning and plural', () => {
  const builtIn = JSON.parse(readFileSync(new URL('../../models/fashion-mnist/manifest.json', import.meta.url), 'utf8')) as {
    classes: { names: string[]; synonyms: string[][]; count: number; null_class: number | null };
  };
  const builtInIndex = buildClassIndex(builtIn.classes.names, builtIn.classes.synonyms);

  it('finds every footwear class of the built-in model for "shoe" and "shoes"', () => {
    expect(names('shoe', builtInIndex).sort()).toEqual(['Ankle boot', 'Sandal', 'Sneaker']);
    expect(names('shoes', builtInIndex).sort()).toEqual(['Ankle boot', 'Sandal', 'Sneaker']);
    expect(names('footwear', builtInIndex).sort()).toEqual(['Ankle boot', 'Sandal', 'Sneaker']);
  });

  it('finds a class by the plural of a synonym', () => {
    const [match] = searchClasses(fashion, 'trainers');
    expect(match?.entry.name).toBe('Sneaker');
    expect(match?.via).toBe('trainer');
    expect(names('boots')[0]).toBe('Ankle boot');
  });

  it('resolves a plural on the command line too', () => {
    expect(findClass(builtIn.classes, 'trainers')).toBe(7);
    expect(findClass(builtIn.classes, 'dresses')).toBe(3);
  });

  it('keeps short words and double s as they are', () => {
    expect(singularOf('bus')).toBe('bus');
    expect(singularOf('dress')).toBe('dress');
    expect(singularOf('dresses')).toBe('dress');
    expect(singularOf('running shoes')).toBe('running shoe');
  });
});

describe('exactClassIndex', () => {
  const names = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
  const synonyms = [['tee'], ['pants'], [], [], [], [], [], ['trainer'], [], []];

  it('takes a name in any case and spacing, a synonym, a plural or an index', () => {
    expect(exactClassIndex(names, synonyms, 'dress')).toBe(3);
    expect(exactClassIndex(names, synonyms, 'ankle_boot')).toBe(9);
    expect(exactClassIndex(names, synonyms, 'Trainers')).toBe(7);
    expect(exactClassIndex(names, synonyms, 'pants')).toBe(1);
    expect(exactClassIndex(names, synonyms, '9')).toBe(9);
  });

  it('answers null rather than guessing', () => {
    expect(exactClassIndex(names, synonyms, 'sneak')).toBeNull();
    expect(exactClassIndex(names, synonyms, '10')).toBeNull();
    expect(exactClassIndex(names, synonyms, 'zebra')).toBeNull();
  });
});
