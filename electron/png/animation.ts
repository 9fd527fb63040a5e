/** Animated PNG (APNG) frames, encoded by upng-js; every player that does not know APNG shows the first frame. */
import UPNG from 'upng-js';
import type { RgbaImage } from './image';

/**
 * Encodes equally sized RGBA frames as one lossless APNG that loops forever, each frame shown
 * for `frameMs` milliseconds.
 */
export function encodeAnimatedPng(frames: readonly RgbaImage[], frameMs: number): Uint8Array {
  const first = frames[0];
  if (first === undefined) throw new Error('An animation needs at least one frame.');
  for (const [index, frame] of frames.entries()) {
    if (frame.width !== first.width || frame.height !== first.height) {
      throw new Error(`Frame ${index} is ${frame.width}×${frame.height} but the first is ${first.width}×${first.height}; every frame of an animation has one size.`);
    }
  }
  const buffers = frames.map((frame) => frame.data.slice().buffer);
  // 0 colours: lossless, no palette quantisation, so every frame keeps its exact pixels.
  return new Uint8Array(UPNG.encode(buffers, first.width, first.height, 0, frames.map(() => frameMs)));
}
