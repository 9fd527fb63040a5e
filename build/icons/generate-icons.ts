/**
 * Draws the app icon and writes it in the three formats the installers need:
 * icon.png (Linux, 1024 px), icon.ico (Windows) and icon.icns (macOS).
 * The picture is the idea of the app: pure noise on the left resolving into a clean disc on
 * the right, as a reverse diffusion does. Run with `npx tsx build/icons/generate-icons.ts`.
 */
import { writeFileSync } from 'node:fs';
import { PNG } from 'pngjs';
import { BICUBIC, createICNS, createICO } from 'png2icons';

const size = 1024;
const cornerRadius = 200;
const background = [20, 22, 28] as const;
const discInner = [255, 176, 92] as const;
const discOuter = [146, 84, 232] as const;

/** A fixed hash in [0, 1) so the icon is the same on every run. */
function hashNoise(x: number, y: number): number {
  let h = Math.imul(x, 374761393) + Math.imul(y, 668265263);
  h = Math.imul(h ^ (h >>> 13), 1274126177);
  return ((h ^ (h >>> 16)) >>> 0) / 2 ** 32;
}

function insideRoundedSquare(x: number, y: number): boolean {
  const cx = Math.min(Math.max(x, cornerRadius), size - cornerRadius);
  const cy = Math.min(Math.max(y, cornerRadius), size - cornerRadius);
  return (x - cx) ** 2 + (y - cy) ** 2 <= cornerRadius ** 2;
}

function mix(a: number, b: number, t: number): number {
  return Math.round(a + (b - a) * t);
}

function drawIcon(): PNG {
  const png = new PNG({ width: size, height: size });
  const centre = size / 2;
  const radius = size * 0.34;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const offset = (y * size + x) * 4;
      if (!insideRoundedSquare(x, y)) {
        png.data[offset + 3] = 0;
        continue;
      }
      const distance = Math.hypot(x - centre, y - centre) / radius;
      const inDisc = distance <= 1;
      const clean = inDisc ? discInner.map((c, i) => mix(c, discOuter[i] ?? c, distance)) : [...background];
      // Noise level falls from left to right: x_T on the left edge, x_0 on the right.
      const noiseLevel = Math.max(0, 1 - x / (size * 0.8)) ** 1.5;
      const cell = hashNoise(x >> 4, y >> 4);
      for (let channel = 0; channel < 3; channel++) {
        const noisy = 40 + cell * 200;
        png.data[offset + channel] = mix(clean[channel] ?? 0, noisy, noiseLevel * 0.85);
      }
      png.data[offset + 3] = 255;
    }
  }
  return png;
}

const iconPng = PNG.sync.write(drawIcon());
const ico = createICO(iconPng, BICUBIC, 0, true, true);
const icns = createICNS(iconPng, BICUBIC, 0);
if (!ico || !icns) throw new Error('png2icons could not convert the icon.');
const folder = new URL('.', import.meta.url);
writeFileSync(new URL('icon.png', folder), iconPng);
writeFileSync(new URL('icon.ico', folder), ico);
writeFileSync(new URL('icon.icns', folder), icns);
