/**
 * Noise and trajectories as .npy files, laid out like the golden fixtures of the model tools:
 * x_T.npy [N, C, H, W], noise.npy [S, N, C, H, W], xt.npy and pred_x0.npy [S, N, C, H, W].
 */
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { seededNoise } from '../../common/diffusion/rng';
import { decodeNpyFloat32, encodeNpy } from '../../common/npy';
import type { ReplayNoise, SampleResult } from '../inference';

async function readFloat32Npy(file: string): Promise<{ shape: number[]; data: Float32Array }> {
  const bytes = await readFile(file).catch(() => {
    throw new Error(`Cannot read the noise file ${file}: it does not exist or is not readable.`);
  });
  try {
    return decodeNpyFloat32(bytes);
  } catch (error) {
    throw new Error(`${file}: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * `--noise-from`: a folder with x_T.npy (and noise.npy when the sampler draws step noise), as
 * written by --trajectory-out or the golden fixtures; or one .npy holding x_T only.
 */
export async function readReplayNoise(source: string): Promise<ReplayNoise> {
  const info = await stat(source).catch(() => null);
  if (info === null) throw new Error(`The noise source ${source} does not exist. Give a folder with x_T.npy and noise.npy, or an x_T .npy file.`);
  if (info.isFile()) return { initial: (await readFloat32Npy(source)).data, steps: null };
  const initial = await readFloat32Npy(path.join(source, 'x_T.npy'));
  const noisePath = path.join(source, 'noise.npy');
  const hasSteps = await stat(noisePath).then(() => true, () => false);
  return { initial: initial.data, steps: hasSteps ? (await readFloat32Npy(noisePath)).data : null };
}

export interface TrajectoryWrite {
  folder: string;
  samples: readonly SampleResult[];
  /** Step noise to store: replayed arrays, or regenerated from the seeds. */
  replayed: ReplayNoise | null;
  drawsStepNoise: boolean;
  recipe: unknown;
}

/** Writes every sample's trajectory as the fixture layout, so another implementation can replay it. */
export async function writeTrajectories({ folder, samples, replayed, drawsStepNoise, recipe }: TrajectoryWrite): Promise<string[]> {
  const ordered = [...samples].sort((a, b) => a.index - b.index);
  const first = ordered[0];
  const firstTrajectory = first?.trajectory;
  if (first === undefined || firstTrajectory === undefined) throw new Error('No trajectory was recorded.');
  const count = ordered.length;
  const stepCount = firstTrajectory.t.length;
  const perSample = first.channels * first.height * first.width;
  const imageShape = [first.channels, first.height, first.width];
  const initial = new Float32Array(count * perSample);
  const xt = new Float32Array(stepCount * count * perSample);
  const predX0 = new Float32Array(stepCount * count * perSample);
  const guided = firstTrajectory.classProbability !== null;
  const classProbability = new Float32Array(stepCount * count);
  const gradNorm = new Float32Array(stepCount * count);
  ordered.forEach((sample, position) => {
    const trajectory = sample.trajectory;
    if (trajectory === undefined) throw new Error(`Sample ${sample.index} has no trajectory.`);
    initial.set(trajectory.initial, position * perSample);
    for (let step = 0; step < stepCount; step++) {
      const from = step * perSample;
      const to = (step * count + position) * perSample;
      xt.set(trajectory.xt.subarray(from, from + perSample), to);
      predX0.set(trajectory.predX0.subarray(from, from + perSample), to);
      classProbability[step * count + position] = trajectory.classProbability?.[step] ?? 0;
      gradNorm[step * count + position] = trajectory.gradNorm?.[step] ?? 0;
    }
  });
  await mkdir(folder, { recursive: true });
  const files: [string, Uint8Array][] = [
    ['x_T.npy', encodeNpy(initial, [count, ...imageShape])],
    ['xt.npy', encodeNpy(xt, [stepCount, count, ...imageShape])],
    ['pred_x0.npy', encodeNpy(predX0, [stepCount, count, ...imageShape])],
    ['t.npy', encodeNpy(BigInt64Array.from(firstTrajectory.t, (t) => BigInt(t)), [stepCount])],
  ];
  if (guided) {
    files.push(['class_probability.npy', encodeNpy(classProbability, [stepCount, count])]);
    files.push(['grad_norm.npy', encodeNpy(gradNorm, [stepCount, count])]);
  }
  if (drawsStepNoise) {
    let steps = replayed?.steps ?? null;
    if (steps === null) {
      steps = new Float32Array(stepCount * count * perSample);
      const source = seededNoise(ordered.map((sample) => sample.seed));
      for (let step = 0; step < stepCount; step++) source.step(steps.subarray(step * count * perSample, (step + 1) * count * perSample), step);
    }
    files.push(['noise.npy', encodeNpy(steps, [stepCount, count, ...imageShape])]);
  }
  files.push(['run.json', new TextEncoder().encode(`${JSON.stringify(recipe, null, 2)}\n`)]);
  for (const [name, bytes] of files) await writeFile(path.join(folder, name), bytes);
  return files.map(([name]) => path.join(folder, name));
}
