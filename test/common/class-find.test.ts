import { describe, expect, it } from 'vitest';
import { UnknownClassError, findClass } from '../../common/models/class-search';
import type { ModelManifest } from '../../common/models/manifest';

const fashion: ModelManifest['classes'] = {
  count: 10,
  names: ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'],
  synonyms: [['t-shirt', 'tee', 'top'], ['trousers', 'pants'], ['sweater', 'jumper'], [], ['jacket'], [], [], ['trainer', 'running shoe'], ['handbag', 'purse'], ['boot']],
  null_class: 10,
};

describe('finding a class', () => {
  it.each([
    ['7', 7],
    ['sneaker', 7],
    ['Sneaker', 7],
    ['ankle boot', 9],
    ['Ankle_Boot', 9],
    ['pants', 1],
    ['running shoe', 7],
    [' 0 ', 0],
  ])('reads "%s" as class %i', (query, index) => {
    expect(findClass(fashion, query)).toBe(index);
  });

  it('says an index is out of range', () => {
    expect(() => findClass(fashion, '10')).toThrow('Class 10 is out of range: this model has classes 0 to 9.');
  });

  it('suggests near names for an unknown one', () => {
    expect(() => findClass(fashion, 'sneakr')).toThrow('No class is called "sneakr". Did you mean "Sneaker"?');
    try {
      findClass(fashion, 'trowser');
    } catch (error) {
      expect(error).toBeInstanceOf(UnknownClassError);
      expect((error as UnknownClassError).suggestions[0]).toBe('Trouser');
    }
  });

  it('lists the valid range when nothing is close', () => {
    expect(() => findClass(fashion, 'helicopter')).toThrow('No class is called "helicopter". Use a class index from 0 to 9 or one of its names.');
  });
});
