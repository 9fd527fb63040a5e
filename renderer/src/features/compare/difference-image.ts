/**
 * |A − B| of two images of one size, per pixel and channel, amplified so the largest difference
 * is drawn white: two samples that differ a little still show where. The gain is a whole factor
 * from 1 to MAX_GAIN, stated in the legend with the largest difference.
 */

/** The most a difference is amplified: beyond it, 8-bit rounding noise would look like structure. */
export const MAX_GAIN = 32;

export interface RgbaImage {
  width: number;
  height: number;
  /** RGBA bytes, row by row. */
  data: Uint8ClampedArray;
}

export interface DifferenceImage extends RgbaImage {
  /** The largest |A − B| of any channel, 0 to 255. */
  largest: number;
  /** How many times each difference is multiplied before drawing. */
  gain: number;
  /** The share of pixels where A and B differ at all. */
  changedFraction: number;
}

export function differenceImage(a: RgbaImage, b: RgbaImage): DifferenceImage {
  if (a.width !== b.width || a.height !== b.height) {
    throw new Error(`The two samples have different sizes (${a.width}×${a.height} and ${b.width}×${b.height}), so there is no pixel-wise difference to show.`);
  }
  const pixels = a.width * a.height;
  const difference = new Uint8ClampedArray(pixels * 4);
  let largest = 0;
  let changed = 0;
  for (let pixel = 0; pixel < pixels; pixel++) {
    let pixelChanged = false;
    for (let channel = 0; channel < 3; channel++) {
      const i = pixel * 4 + channel;
      const value = Math.abs((a.data[i] as number) - (b.data[i] as number));
      difference[i] = value;
      if (value > largest) largest = value;
      if (value > 0) pixelChanged = true;
    }
    if (pixelChanged) changed++;
  }
  const gain = largest === 0 ? 1 : Math.max(1, Math.min(MAX_GAIN, Math.floor(255 / largest)));
  for (let pixel = 0; pixel < pixels; pixel++) {
    for (let channel = 0; channel < 3; channel++) difference[pixel * 4 + channel] = (difference[pixel * 4 + channel] as number) * gain;
    difference[pixel * 4 + 3] = 255;
  }
  return { width: a.width, height: a.height, data: difference, largest, gain, changedFraction: pixels === 0 ? 0 : changed / pixels };
}

/**
 * For each step of A, the step of B at the same timestep t, or the nearest one when B's spacing
 * keeps other timesteps; null when B has no steps.
 */
export function alignByTimestep(aTimesteps: readonly number[], bTimesteps: readonly number[]): (number | null)[] {
  return aTimesteps.map((t) => {
    let best: number | null = null;
    bTimesteps.forEach((candidate, index) => {
      if (best === null || Math.abs(candidate - t) < Math.abs((bTimesteps[best] as number) - t)) best = index;
    });
    return best;
  });
}
