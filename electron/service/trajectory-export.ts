/**
 * A sample's recorded trajectory as files: a zip of .npy arrays in the command line's
 * `--trajectory-out` layout, or an animated PNG of xₜ or x̂₀ over the steps.
 */
import { zipSync } from 'fflate';
import { MAX_EXPORT_BYTES } from '../../common/contract/bounds';
import { variationOf } from '../../common/contract/run-request';
import { seededNoise } from '../../common/diffusion/rng';
import type { ModelManifest } from '../../common/models/manifest';
import { planRun } from '../../common/models/run-plan';
import { encodeNpy } from '../../common/npy';
import type { Gallery } from '../gallery';
import { needsStepNoise } from '../inference/replay-noise';
import { encodeAnimatedPng } from '../png/animation';
import { decodePng, upscaleNearest, type RgbaImage } from '../png/image';
import { withRecipe } from '../png/recipe-chunk';
import { UserFacingError } from './user-facing-error';

/** Animation frames are enlarged by a whole factor until the longer side reaches this, so small models stay visible. */
export const ANIMATION_MIN_SIDE = 256;
/** How long each step of the animation is shown. */
export const ANIMATION_FRAME_MS = 80;

export interface ExportedFile {
  fileName: string;
  bytes: Uint8Array;
  mimeType: string;
}

interface RecordedTrajectory {
  manifest: ModelManifest;
  baseName: string;
  steps: { index: number; t: number; probability: number | null; gradientNorm: number | null }[];
  image(index: number, kind: 'xt' | 'x0'): RgbaImage;
}

function recordedTrajectory(gallery: Gallery, sampleId: number): RecordedTrajectory & { detail: NonNullable<ReturnType<Gallery['samples']['detail']>> } {
  const detail = gallery.samples.detail(sampleId);
  if (detail === undefined) throw new UserFacingError(`Sample ${sampleId} is not in the gallery any more; it may have been deleted.`);
  if (detail.trajectory.length === 0) {
    throw new UserFacingError(`Sample ${sampleId} has no recorded trajectory; turn on "Record trajectories" and run it again to export one.`);
  }
  const manifest = gallery.models.get(detail.sample.modelId)?.manifest;
  if (manifest === undefined) throw new UserFacingError(`The model of sample ${sampleId} ("${detail.sample.modelId}") is not recorded in the gallery, so its trajectory cannot be laid out.`);
  const exported = gallery.exportPng(sampleId);
  return {
    detail,
    manifest,
    baseName: exported.fileName.replace(/\.png$/, ''),
    steps: detail.trajectory,
    image(index, kind) {
      const png = gallery.trajectories.image(sampleId, index, kind);
      if (png === undefined) throw new UserFacingError(`Step ${index + 1} of sample ${sampleId}'s trajectory is missing from the gallery; the trajectory cannot be exported whole.`);
      return decodePng(png);
    },
  };
}

/** A step's xₜ (exact where the gallery keeps it) or x̂₀ (8 bits: byte b stands for b / 127.5 − 1) as CHW floats. */
function stepTensor(gallery: Gallery, sampleId: number, index: number, kind: 'xt' | 'x0', channels: number): Float32Array {
  const tensor = gallery.trajectories.tensor(sampleId, index, kind, channels);
  if (tensor === undefined) throw new UserFacingError(`Step ${index + 1} of sample ${sampleId}'s trajectory is missing from the gallery; the trajectory cannot be exported whole.`);
  return tensor;
}

function checkSize(bytes: number, sampleId: number): void {
  if (bytes > MAX_EXPORT_BYTES) {
    throw new UserFacingError(
      `Sample ${sampleId}'s trajectory takes ${Math.round(bytes / 1024 / 1024)} MiB as arrays, more than the ${MAX_EXPORT_BYTES / 1024 / 1024} MiB the studio exports at once; re-run it with the command line's sample --trajectory-out, which writes the files directly.`,
    );
  }
}

const README = `Trajectory of one sample, in the layout of the command line's sample --trajectory-out:
x_T.npy [1, C, H, W]      the initial noise, exactly as drawn (float32)
noise.npy [S, 1, C, H, W] the noise of every sampling step, exactly as drawn (only for samplers that draw it)
xt.npy [K, 1, C, H, W]    x_t at each recorded step: exact (float32) for steps recorded by studios that keep
                          exact states, else from the gallery's 8-bit images (byte / 127.5 - 1)
pred_x0.npy               the predicted x_0, from 8-bit values (byte / 127.5 - 1)
t.npy [K]                 the original timestep of each recorded step
class_probability.npy, grad_norm.npy [K, 1]  the classifier's p(y | x_t) and gradient norm, when guided
run.json                  the sample's recipe
x_T.npy and noise.npy replay the sample exactly: sample --noise-from FOLDER.
`;

/** The .npy zip: exact noise regenerated from the seed, the recorded steps as the gallery keeps them. */
export function trajectoryNpyZip(gallery: Gallery, sampleId: number): ExportedFile {
  const { detail, manifest, baseName, steps } = recordedTrajectory(gallery, sampleId);
  const { run, sample } = detail;
  const request = { ...run.request, seeds: [sample.seed] };
  const channels = manifest.image.channels;
  const perSample = channels * sample.height * sample.width;
  const imageShape = [channels, sample.height, sample.width];
  const stepCount = planRun(manifest, request).diffusion.betas.length;
  const drawsStepNoise = needsStepNoise(request);
  checkSize(4 * perSample * (1 + 2 * steps.length + (drawsStepNoise ? stepCount : 0)), sampleId);

  const noise = seededNoise([sample.seed], variationOf(request));
  const initial = new Float32Array(perSample);
  noise.initial(initial);
  const xt = new Float32Array(steps.length * perSample);
  const predX0 = new Float32Array(steps.length * perSample);
  steps.forEach((step, position) => {
    xt.set(stepTensor(gallery, sampleId, step.index, 'xt', channels), position * perSample);
    predX0.set(stepTensor(gallery, sampleId, step.index, 'x0', channels), position * perSample);
  });
  const files: Record<string, Uint8Array> = {
    'x_T.npy': encodeNpy(initial, [1, ...imageShape]),
    'xt.npy': encodeNpy(xt, [steps.length, 1, ...imageShape]),
    'pred_x0.npy': encodeNpy(predX0, [steps.length, 1, ...imageShape]),
    't.npy': encodeNpy(BigInt64Array.from(steps, (step) => BigInt(step.t)), [steps.length]),
  };
  if (steps.every((step) => step.probability !== null)) {
    files['class_probability.npy'] = encodeNpy(Float32Array.from(steps, (step) => step.probability ?? 0), [steps.length, 1]);
    files['grad_norm.npy'] = encodeNpy(Float32Array.from(steps, (step) => step.gradientNorm ?? 0), [steps.length, 1]);
  }
  if (drawsStepNoise) {
    const stepNoise = new Float32Array(stepCount * perSample);
    for (let step = 0; step < stepCount; step++) noise.step(stepNoise.subarray(step * perSample, (step + 1) * perSample), step);
    files['noise.npy'] = encodeNpy(stepNoise, [stepCount, 1, ...imageShape]);
  }
  files['run.json'] = new TextEncoder().encode(`${JSON.stringify(gallery.exportPng(sampleId).recipe, null, 2)}\n`);
  files['README.txt'] = new TextEncoder().encode(README);
  const folder = `${baseName}-trajectory`;
  const zipped = zipSync(Object.fromEntries(Object.entries(files).map(([name, bytes]) => [`${folder}/${name}`, bytes])), { level: 6 });
  return { fileName: `${folder}.zip`, bytes: zipped, mimeType: 'application/zip' };
}

/** Whole factor that brings the longer side to at least ANIMATION_MIN_SIDE (1 for large images). */
export function animationUpscale(width: number, height: number): number {
  return Math.max(1, Math.ceil(ANIMATION_MIN_SIDE / Math.max(width, height)));
}

/** An animated PNG of xₜ or x̂₀ over the recorded steps, enlarged by nearest neighbour, carrying the sample's recipe. */
export function trajectoryAnimation(gallery: Gallery, sampleId: number, kind: 'xt' | 'x0'): ExportedFile {
  const { detail, baseName, steps, image } = recordedTrajectory(gallery, sampleId);
  const factor = animationUpscale(detail.sample.width, detail.sample.height);
  checkSize(steps.length * 4 * detail.sample.width * detail.sample.height * factor * factor, sampleId);
  const frames = steps.map((step) => upscaleNearest(image(step.index, kind), factor));
  const animation = withRecipe(encodeAnimatedPng(frames, ANIMATION_FRAME_MS), gallery.exportPng(sampleId).recipe);
  return { fileName: `${baseName}-${kind === 'xt' ? 'xt' : 'x0'}-animation.png`, bytes: animation, mimeType: 'image/png' };
}
