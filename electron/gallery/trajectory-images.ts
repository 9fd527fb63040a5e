/**
 * The PNGs of a recorded step, made when the viewer first asks for one: the steps are stored as
 * numbers (exact float32 xₜ, 8-bit x̂₀, an 8-bit gradient magnitude map), and encoding every one
 * of them while sampling cost more than the sampling itself on small models.
 */
import { interpolateInferno } from 'd3-scale-chromatic';
import { toByte } from '../../common/diffusion/preview';
import { encodePng, type RgbaImage } from '../png/image';

export interface StepGeometry {
  channels: number;
  height: number;
  width: number;
}

/** RGBA of a CHW byte image (1 channel: grey; 3: RGB), as `imageFromTensor` lays out a float one. */
export function rgbaFromPlanes(planes: Uint8Array, { channels, height, width }: StepGeometry): RgbaImage {
  const plane = height * width;
  if (planes.length !== channels * plane) throw new Error(`A ${channels}×${height}×${width} step holds ${channels * plane} bytes, not ${planes.length}.`);
  const data = new Uint8Array(plane * 4);
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) data[p * 4 + c] = planes[(channels >= 3 ? c : 0) * plane + p] as number;
    data[p * 4 + 3] = 255;
  }
  return { width, height, data };
}

/** The 8-bit planes of a [-1, 1] tensor, with the rule every stored image uses. */
export function bytesOfTensor(tensor: Float32Array): Uint8Array {
  const bytes = new Uint8Array(tensor.length);
  for (let i = 0; i < tensor.length; i++) bytes[i] = toByte(tensor[i] as number);
  return bytes;
}

/** The PNG of an exact xₜ: the same bytes as encoding it while sampling gave. */
export function tensorPng(tensor: Float32Array, geometry: StepGeometry): Uint8Array {
  return encodePng(rgbaFromPlanes(bytesOfTensor(tensor), geometry));
}

export function planesPng(planes: Uint8Array, geometry: StepGeometry): Uint8Array {
  return encodePng(rgbaFromPlanes(planes, geometry));
}

/** Colour of each heat byte: inferno, black (0) through purple and orange to pale yellow (255 = the step's largest gradient). */
const HEAT_COLOURS: readonly (readonly [number, number, number])[] = Array.from({ length: 256 }, (_, level) => {
  const hex = interpolateInferno(level / 255);
  return [parseInt(hex.slice(1, 3), 16), parseInt(hex.slice(3, 5), 16), parseInt(hex.slice(5, 7), 16)] as const;
});

/** The heatmap of a step as an opaque RGB PNG (the page sets its opacity over xₜ or x̂₀). */
export function heatPng(heat: Uint8Array, height: number, width: number): Uint8Array {
  if (heat.length !== height * width) throw new Error(`A ${height}×${width} heatmap holds ${height * width} bytes, not ${heat.length}.`);
  const data = new Uint8Array(heat.length * 4);
  heat.forEach((level, p) => {
    const colour = HEAT_COLOURS[level] as readonly [number, number, number];
    data.set(colour, p * 4);
    data[p * 4 + 3] = 255;
  });
  return encodePng({ width, height, data });
}
