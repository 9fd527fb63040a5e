/** Turns the contract's raw preview pixels into RGBA for a canvas. */
import type { PreviewImage } from '../../../common/contract/studio-api';
import { bytesFromBase64 } from './api';

export function previewToRgba(preview: PreviewImage): Uint8ClampedArray<ArrayBuffer> {
  const source = bytesFromBase64(preview.pixels);
  const pixelCount = preview.width * preview.height;
  if (source.length !== pixelCount * preview.channels) {
    throw new Error(`Preview of seed ${preview.seed} has ${source.length} bytes, expected ${pixelCount * preview.channels}.`);
  }
  const rgba = new Uint8ClampedArray(pixelCount * 4);
  for (let p = 0; p < pixelCount; p++) {
    const r = source[p * preview.channels]!;
    rgba[p * 4] = r;
    rgba[p * 4 + 1] = preview.channels === 3 ? source[p * 3 + 1]! : r;
    rgba[p * 4 + 2] = preview.channels === 3 ? source[p * 3 + 2]! : r;
    rgba[p * 4 + 3] = 255;
  }
  return rgba;
}
