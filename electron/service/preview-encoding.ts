/** Engine x̂₀ previews (RGBA) → the contract's compact grey or RGB pixels. */
import type { PreviewImage } from '../../common/contract/studio-api';

export interface RgbaPreview {
  width: number;
  height: number;
  rgba: Uint8ClampedArray;
}

export function encodePreview(preview: RgbaPreview, seed: number, channels: 1 | 3): PreviewImage {
  const pixelCount = preview.width * preview.height;
  const packed = Buffer.alloc(pixelCount * channels);
  for (let p = 0; p < pixelCount; p++) {
    for (let c = 0; c < channels; c++) packed[p * channels + c] = preview.rgba[p * 4 + c]!;
  }
  return { seed, width: preview.width, height: preview.height, channels, pixels: packed.toString('base64') };
}
