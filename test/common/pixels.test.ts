/**
 * Saved pixels are the bytes the reference sampling script stores: PyTorch's
 * `((x + 1) * 127.5).clamp(0, 255).to(torch.uint8)` on float32 values at and around every
 * level boundary (test/fixtures/pixels, made by its make_pixel_goldens.py).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { toByte, toRgba, toUint8 } from '../../common/diffusion/preview';
import { decodeNpy } from '../../common/npy';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/pixels');
const read = (name: string) => decodeNpy(readFileSync(path.join(FIXTURES, name))).data;
const values = read('values.npy') as Float32Array;
const bytes = read('bytes.npy') as Uint8Array;

describe('float samples to 8-bit pixels', () => {
  it('has the reference bytes of every level boundary', () => {
    expect(values).toBeInstanceOf(Float32Array);
    expect(bytes).toBeInstanceOf(Uint8Array);
    expect(values.length).toBe(bytes.length);
    expect(values.length).toBeGreaterThan(4000);
  });

  it('gives the reference byte for every value, including those float64 arithmetic would round down', () => {
    const float64Differs: number[] = [];
    const mismatches: string[] = [];
    for (let i = 0; i < values.length; i++) {
      const value = values[i] as number;
      if (Math.trunc(Math.min(255, Math.max(0, (value + 1) * 127.5))) !== bytes[i]) float64Differs.push(i);
      if (toByte(value) !== bytes[i]) mismatches.push(`${value} → ${toByte(value)}, reference ${bytes[i]}`);
    }
    expect(float64Differs.length, 'the fixture should hold values where float64 and float32 arithmetic disagree').toBeGreaterThan(100);
    expect(mismatches).toEqual([]);
  });

  it('the byte array and the RGBA image use the same rule', () => {
    const sample = values.subarray(0, 256);
    expect([...toUint8(sample)]).toEqual([...bytes.subarray(0, 256)]);
    const rgba = toRgba(sample, { channels: 1, height: 16, width: 16 });
    for (let p = 0; p < 256; p++) {
      expect([rgba[p * 4], rgba[p * 4 + 1], rgba[p * 4 + 2], rgba[p * 4 + 3]]).toEqual([bytes[p], bytes[p], bytes[p], 255]);
    }
  });

  it('maps 0.99999994 to 255 and 0.8901960 to 241, as float32 arithmetic does', () => {
    expect(toByte(Math.fround(0.99999994))).toBe(255);
    expect(toByte(Math.fround(0.890196025371551))).toBe(241);
    expect(toByte(Number.NaN)).toBe(0);
  });
});
