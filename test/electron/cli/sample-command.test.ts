import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeNpy } from '../../../common/npy';
import { runSampleCommand, type SampleCommandOptions } from '../../../electron/cli/commands/sample';
import { decodePng } from '../../../electron/png/image';
import { readRecipe } from '../../../electron/png/recipe-chunk';
import { openStudio } from '../../../electron/service/open-studio';
import { LINEAR_MODEL } from '../inference/test-models';

let out: string;
beforeAll(async () => {
  out = await mkdtemp(path.join(tmpdir(), 'gds-cli-'));
});
afterAll(() => rm(out, { recursive: true, force: true }));

function options(overrides: Partial<SampleCommandOptions>): SampleCommandOptions {
  return { model: LINEAR_MODEL, class: 'square', seed: 40, count: 3, batch: 2, provider: 'cpu', out, clip: true, threads: 1, unetPrecision: 'auto', progress: false, ...overrides };
}

describe('sample command', () => {
  it('writes PNGs carrying their recipe, a trajectory, and replays that trajectory exactly', async () => {
    const trajectory = path.join(out, 'trajectory');
    const first = await runSampleCommand(options({ sampler: 'ddpm', steps: '10', scale: 3, trajectoryOut: trajectory }));
    expect(first.files.map((file) => path.basename(file))).toEqual(['linear-8px-square-s3-seed40.png', 'linear-8px-square-s3-seed41.png', 'linear-8px-square-s3-seed42.png']);
    const png = new Uint8Array(await readFile(first.files[1] as string));
    expect(decodePng(png)).toMatchObject({ width: 8, height: 8 });
    const recipe = readRecipe(png);
    expect(recipe).toMatchObject({ classIndex: 1, className: 'square', scale: 3, sampler: 'ddpm', steps: '10', seed: 41, mode: 'unconditional+classifier', provider: 'cpu', noiseAlgorithm: 'philox4x32-10/box-muller/v1' });
    expect(recipe.model.id).toBe('linear-8px');

    const shapeOf = async (name: string): Promise<number[]> => decodeNpy(await readFile(path.join(trajectory, name))).shape;
    expect(await shapeOf('x_T.npy')).toEqual([3, 1, 8, 8]);
    expect(await shapeOf('noise.npy')).toEqual([10, 3, 1, 8, 8]);
    expect(await shapeOf('xt.npy')).toEqual([10, 3, 1, 8, 8]);
    expect(await shapeOf('pred_x0.npy')).toEqual([10, 3, 1, 8, 8]);
    expect(await shapeOf('class_probability.npy')).toEqual([10, 3]);

    // Different seeds, same replayed noise: the same images.
    const replay = await runSampleCommand(options({ sampler: 'ddpm', steps: '10', scale: 3, seed: 0, out: path.join(out, 'replay'), noiseFrom: trajectory }));
    expect(replay.result.samples.map((sample) => sample.image)).toEqual(first.result.samples.map((sample) => sample.image));
  });

  it.each([
    [{ class: 'squre' }, 'No class is called "squre". Did you mean "square"?'],
    [{ class: '5' }, 'Class 5 is out of range: this model has classes 0 to 2.'],
    [{ steps: '0' }, 'Steps "0" cannot be used with this model (T = 100)'],
    [{ steps: '500' }, '500 steps is more than the 100 the model was trained with'],
    [{ model: path.join(tmpdir(), 'no-such-model') }, 'manifest.json is missing'],
  ])('explains %o before sampling', async (overrides, message) => {
    await expect(runSampleCommand(options(overrides))).rejects.toThrow(message);
  });

  it('draws into the gallery of --data as a studio run, and the files are that run exported', async () => {
    const dataDir = path.join(out, 'data');
    const drawn = await runSampleCommand(options({ data: dataDir, out: path.join(out, 'with-data') }));
    const studio = openStudio({ dataDir, modelDirs: [LINEAR_MODEL], threads: 1, carryOnQueue: false });
    try {
      const page = await studio.listSamples({ limit: 10 });
      expect(page.items.map((sample) => sample.seed).sort()).toEqual([40, 41, 42]);
      const detail = await studio.getSample({ sampleId: page.items[0]!.id });
      expect(detail.run).toMatchObject({ status: 'completed', sampleCount: 3, provider: 'cpu' });
      const [entry] = studio.queue.view().entries;
      expect(entry).toMatchObject({ kind: 'run', status: 'completed', runId: detail.run.id });
      // Each written file is the gallery's export of its sample, byte for byte.
      for (const sample of page.items) {
        const exported = studio.gallery.exportPng(sample.id);
        expect(new Uint8Array(await readFile(path.join(out, 'with-data', exported.fileName)))).toEqual(exported.png);
      }
      expect(drawn.files).toHaveLength(3);
    } finally {
      await studio.close();
    }
  });

  it('refuses to queue behind a paused queue of --data, saying what to do', async () => {
    const dataDir = path.join(out, 'paused');
    const studio = openStudio({ dataDir, modelDirs: [LINEAR_MODEL], threads: 1 });
    await studio.pauseQueue();
    await studio.close();
    await expect(runSampleCommand(options({ data: dataDir }))).rejects.toThrow(`The queue of the studio in ${dataDir} is paused, so this run would wait there; resume the queue in the studio, or pass another --data folder.`);
  });

  it('rejects a NaN or negative scale on the command line with exit code 1', async () => {
    const run = (args: string[]) =>
      promisify(execFile)(process.execPath, ['--import', 'tsx', 'electron/cli/main.ts', 'sample', '--model', LINEAR_MODEL, '--class', '1', ...args]).then(
        () => ({ code: 0, stderr: '' }),
        (error: { code: number; stderr: string }) => ({ code: error.code, stderr: error.stderr }),
      );
    const nan = await run(['--scale', 'NaN']);
    expect(nan.code).toBe(1);
    expect(nan.stderr).toContain('--scale must be a number from 0 up, got "NaN".');
    const negative = await run(['--scale=-2']);
    expect(negative.stderr).toContain('--scale must be a number from 0 up, got "-2".');
  });
});
