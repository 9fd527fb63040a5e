/** Turning model-space images ([-1, 1], NCHW float32) into 8-bit pixels. */

export interface ImageSize {
  channels: number;
  height: number;
  width: number;
}

/**
 * ((x + 1)·127.5) clamped to [0, 255] and truncated, in float32 arithmetic, as the reference
 * sampling script stores pixels (`((sample + 1) * 127.5).clamp(0, 255).to(torch.uint8)` on a
 * float32 tensor): computed in float64, 0.99999994 would give 254 instead of 255.
 */
export function toByte(value: number): number {
  const scaled = Math.fround(Math.fround(value + 1) * 127.5);
  if (!(scaled > 0)) return 0; // NaN too: a sample that blew up stores black, as a byte array would
  return scaled >= 255 ? 255 : Math.trunc(scaled);
}

/** Maps [-1, 1] to 0…255, keeping the CHW layout of one sample. */
export function toUint8(values: Float32Array): Uint8Array {
  const pixels = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) pixels[i] = toByte(values[i] as number);
  return pixels;
}

/**
 * One sample (CHW, [-1, 1]) as interleaved RGBA pixels (height × width × 4); a one-channel image
 * becomes grey, a three-channel one keeps its colours.
 */
export function toRgba(values: Float32Array, size: ImageSize): Uint8ClampedArray {
  const plane = size.height * size.width;
  const rgba = new Uint8ClampedArray(plane * 4);
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) {
      const channel = size.channels >= 3 ? c : 0;
      rgba[p * 4 + c] = toByte(values[channel * plane + p] as number);
    }
    rgba[p * 4 + 3] = 255;
  }
  return rgba;
}
