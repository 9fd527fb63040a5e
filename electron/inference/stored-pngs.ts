/**
 * Gallery images handed to the inference worker as the PNG bytes the gallery stores, so that
 * decoding thousands of them into model space happens there and not on the main event loop.
 */
import { PNG } from 'pngjs';

export interface StoredPngs {
  format: 'png';
  /** The gallery sample of each image, named when one cannot be used. */
  sampleIds: number[];
  pngs: Uint8Array[];
  channels: number;
  size: number;
}

/** [count, C, H, W] in model space: x = pixel / 127.5 − 1, from the 8-bit PNGs. */
export function decodeStoredPngs(stored: StoredPngs): Float32Array {
  const { channels, size, sampleIds, pngs } = stored;
  if (pngs.length !== sampleIds.length) throw new Error(`${pngs.length} images were sent for ${sampleIds.length} samples; send one image per sample.`);
  const plane = size * size;
  const images = new Float32Array(pngs.length * channels * plane);
  pngs.forEach((png, index) => {
    let decoded: PNG;
    try {
      decoded = PNG.sync.read(Buffer.from(png.buffer, png.byteOffset, png.byteLength));
    } catch (error) {
      throw new Error(`Sample ${sampleIds[index]} of the evaluation has an image that cannot be read (${(error as Error).message}); delete it and run the evaluation again.`, { cause: error });
    }
    if (decoded.width !== size || decoded.height !== size) {
      throw new Error(`Sample ${sampleIds[index]} is ${decoded.width}×${decoded.height} but the model makes ${size}×${size} images.`);
    }
    const offset = index * channels * plane;
    for (let pixel = 0; pixel < plane; pixel++) {
      for (let channel = 0; channel < channels; channel++) {
        images[offset + channel * plane + pixel] = decoded.data[pixel * 4 + channel]! / 127.5 - 1;
      }
    }
  });
  return images;
}
