import { PNG } from 'pngjs';
import { toRgba } from '../../common/diffusion/preview';
import { checkPngStructure, readPngHeader } from './png-structure';

/** 8-bit RGBA pixels, row-major. */
export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** Converts a CHW float tensor in [-1, 1] (1 or 3 channels) to RGBA bytes with the reference's rule (`toByte`). */
export function imageFromTensor(tensor: Float32Array, channels: number, height: number, width: number): RgbaImage {
  if (channels !== 1 && channels !== 3) {
    throw new Error(`Cannot make an image from ${channels} channels; expected 1 (grey) or 3 (RGB).`);
  }
  const plane = height * width;
  if (tensor.length !== channels * plane) {
    throw new Error(`Tensor holds ${tensor.length} values but ${channels}×${height}×${width} = ${channels * plane} were expected.`);
  }
  const rgba = toRgba(tensor, { channels, height, width });
  return { width, height, data: new Uint8Array(rgba.buffer, rgba.byteOffset, rgba.byteLength) };
}

/** Expands interleaved 8-bit pixels (1 = grey, 3 = RGB, 4 = RGBA channels per pixel) to RGBA. */
export function rgbaFromInterleaved(pixels: Uint8Array, width: number, height: number, channels: number): RgbaImage {
  if (channels !== 1 && channels !== 3 && channels !== 4) {
    throw new Error(`Cannot make an image from ${channels} channels per pixel; expected 1, 3 or 4.`);
  }
  if (pixels.length !== width * height * channels) {
    throw new Error(`Pixel buffer holds ${pixels.length} bytes but ${width}×${height}×${channels} = ${width * height * channels} were expected.`);
  }
  if (channels === 4) return { width, height, data: pixels };
  const data = new Uint8Array(width * height * 4);
  for (let pixel = 0; pixel < width * height; pixel++) {
    for (let rgb = 0; rgb < 3; rgb++) data[pixel * 4 + rgb] = pixels[pixel * channels + (channels === 1 ? 0 : rgb)] as number;
    data[pixel * 4 + 3] = 255;
  }
  return { width, height, data };
}

function isGrey(image: RgbaImage): boolean {
  const { data } = image;
  for (let i = 0; i < data.length; i += 4) {
    if (data[i] !== data[i + 1] || data[i] !== data[i + 2]) return false;
  }
  return true;
}

/** Encodes RGBA pixels as an 8-bit PNG (greyscale when every pixel is grey, RGB otherwise). */
export function encodePng(image: RgbaImage): Uint8Array {
  const png = new PNG({ width: image.width, height: image.height });
  png.data = Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength);
  const encoded = PNG.sync.write(png, { colorType: isGrey(image) ? 0 : 2, inputColorType: 6, bitDepth: 8 });
  return new Uint8Array(encoded.buffer, encoded.byteOffset, encoded.byteLength);
}

/** Decodes any PNG to 8-bit RGBA; its structure and pixel count are checked before pngjs allocates anything. */
export function decodePng(bytes: Uint8Array): RgbaImage {
  checkPngStructure(bytes);
  const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  return { width: png.width, height: png.height, data: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength) };
}

/** Width and height from the IHDR chunk, without decoding pixels. */
export function pngSize(bytes: Uint8Array): { width: number; height: number } {
  const { width, height } = readPngHeader(bytes);
  return { width, height };
}

/**
 * Shrinks an image so its longer side is at most `maxSide`, averaging every source
 * pixel that falls in each target pixel (area resampling), which avoids the aliasing
 * of nearest-neighbour thumbnails. Returns the image unchanged when it is small enough.
 */
export function downscale(image: RgbaImage, maxSide: number): RgbaImage {
  const factor = Math.max(image.width, image.height) / maxSide;
  if (factor <= 1) return image;
  const width = Math.max(1, Math.round(image.width / factor));
  const height = Math.max(1, Math.round(image.height / factor));
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    const y0 = Math.floor((y * image.height) / height);
    const y1 = Math.max(y0 + 1, Math.floor(((y + 1) * image.height) / height));
    for (let x = 0; x < width; x++) {
      const x0 = Math.floor((x * image.width) / width);
      const x1 = Math.max(x0 + 1, Math.floor(((x + 1) * image.width) / width));
      const area = (y1 - y0) * (x1 - x0);
      for (let c = 0; c < 4; c++) {
        let sum = 0;
        for (let sy = y0; sy < y1; sy++) {
          for (let sx = x0; sx < x1; sx++) sum += image.data[(sy * image.width + sx) * 4 + c] as number;
        }
        data[(y * width + x) * 4 + c] = Math.round(sum / area);
      }
    }
  }
  return { width, height, data };
}

/**
 * Enlarges an image by a whole factor, each pixel becoming a `factor`×`factor` block
 * (nearest neighbour), so a 28×28 sample stays crisp instead of blurring.
 */
export function upscaleNearest(image: RgbaImage, factor: number): RgbaImage {
  if (!Number.isInteger(factor) || factor < 1) throw new Error(`Cannot upscale by ${factor}; the factor must be a whole number of at least 1.`);
  if (factor === 1) return image;
  const width = image.width * factor;
  const height = image.height * factor;
  const data = new Uint8Array(width * height * 4);
  const source = new Uint32Array(image.data.buffer.slice(image.data.byteOffset, image.data.byteOffset + image.data.byteLength));
  const target = new Uint32Array(data.buffer);
  for (let y = 0; y < height; y++) {
    const sourceRow = Math.floor(y / factor) * image.width;
    const targetRow = y * width;
    for (let x = 0; x < width; x++) target[targetRow + x] = source[sourceRow + Math.floor(x / factor)] as number;
  }
  return { width, height, data };
}
