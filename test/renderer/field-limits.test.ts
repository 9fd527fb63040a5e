import { describe, expect, it } from 'vitest';
import { batchLimits, checkScale, checkWholeNumber, imagesLimits, seedLimits } from '../../renderer/src/lib/field-limits';

describe('the settings fields', () => {
  it.each([
    ['0', 'Images must be from 1 to 1,024; 0 is out of range.'],
    ['-3', 'Images must be a whole number from 1 to 1,024; “-3” is not.'],
    ['2.5', 'Images must be a whole number from 1 to 1,024; “2.5” is not.'],
    ['10000', 'Images must be from 1 to 1,024; 10,000 is out of range.'],
    ['', 'Images is empty: type a whole number from 1 to 1,024.'],
    ['1e3', 'Images must be a whole number from 1 to 1,024; “1e3” is not.'],
  ])('refuses %j images with the range allowed', (text, problem) => {
    expect(checkWholeNumber(text, imagesLimits)).toEqual({ ok: false, problem });
  });

  it('takes the whole numbers inside the contract limits, ends included', () => {
    expect(checkWholeNumber('1', imagesLimits)).toEqual({ ok: true, value: 1 });
    expect(checkWholeNumber('1024', imagesLimits)).toEqual({ ok: true, value: 1024 });
    expect(checkWholeNumber('256', batchLimits)).toEqual({ ok: true, value: 256 });
    expect(checkWholeNumber('0', batchLimits)).toEqual({ ok: false, problem: 'Batch size must be from 1 to 256; 0 is out of range.' });
  });

  it('keeps a seed past 2³²−1 as a problem instead of wrapping it', () => {
    expect(checkWholeNumber('4294967295', seedLimits)).toEqual({ ok: true, value: 4294967295 });
    expect(checkWholeNumber('99999999999', seedLimits)).toEqual({ ok: false, problem: 'The seed must be from 0 to 4,294,967,295; 99,999,999,999 is out of range.' });
    expect(checkWholeNumber('-1', seedLimits)).toEqual({ ok: false, problem: 'The seed must be a whole number from 0 to 4,294,967,295; “-1” is not.' });
  });

  it('takes scales from 0 to 100 and names the range for anything else', () => {
    expect(checkScale('0')).toEqual({ ok: true, value: 0 });
    expect(checkScale('7.5')).toEqual({ ok: true, value: 7.5 });
    expect(checkScale('100')).toEqual({ ok: true, value: 100 });
    expect(checkScale('-5')).toEqual({ ok: false, problem: 'The guidance scale must be from 0 to 100; -5 is out of range.' });
    expect(checkScale('1000')).toEqual({ ok: false, problem: 'The guidance scale must be from 0 to 100; 1,000 is out of range.' });
    expect(checkScale('1e9')).toEqual({ ok: false, problem: 'The guidance scale must be from 0 to 100; 1,000,000,000 is out of range.' });
    expect(checkScale('abc')).toEqual({ ok: false, problem: 'The guidance scale must be a number from 0 to 100; “abc” is not.' });
  });
});
