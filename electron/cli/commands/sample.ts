/**
 * `sample`: images of one class from a model folder, written as PNGs that carry their recipe.
 *
 *   npm run cli -- sample --class sneaker --scale 4 --count 8 --out samples
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SingleBar } from 'cli-progress';
import { Command, Option } from 'commander';
import { ProviderName, type RunRequest } from '../../../common/contract/run-request';
import { recipeFileName, recipeFromRequest } from '../../../common/contract/recipe';
import { NOISE_ALGORITHM } from '../../../common/diffusion/rng';
import { findClass } from '../../../common/models/class-search';
import type { ModelManifest } from '../../../common/models/manifest';
import { guidingClassifierSha256, modelSha256 } from '../../../common/models/model-identity';
import { planRun } from '../../../common/models/run-plan';
import { createEngine, type ReplayNoise, type RunResult, type UnetPrecision } from '../../inference';
import { readManifest } from '../../inference/model-folder';
import { checkReplayNoise } from '../../inference/replay-noise';
import { encodePng, imageFromTensor } from '../../png/image';
import { withRecipe } from '../../png/recipe-chunk';
import { readReplayNoise, writeTrajectories } from '../noise-files';
import { realNumber, unetPrecisionOption, wholeNumber } from '../option-parsers';

/** The built-in model, used when --model is not given. */
export const DEFAULT_MODEL_FOLDER = path.join('models', 'fashion-mnist');

export interface SampleCommandOptions {
  model?: string;
  class: string;
  scale?: number;
  mode?: RunRequest['mode'];
  sampler?: RunRequest['sampler'];
  steps?: string;
  eta?: number;
  seed: number;
  count: number;
  batch: number;
  provider: ProviderName;
  out: string;
  clip: boolean;
  threads: number;
  unetPrecision: UnetPrecision;
  noiseFrom?: string;
  trajectoryOut?: string;
  progress: boolean;
}

export interface SampleCommandResult {
  files: string[];
  trajectoryFiles: string[];
  result: RunResult;
  request: RunRequest;
}

function resolveModelFolder(option: string | undefined): string {
  if (option !== undefined) return option;
  if (existsSync(path.join(DEFAULT_MODEL_FOLDER, 'manifest.json'))) return DEFAULT_MODEL_FOLDER;
  throw new Error(`No --model was given and the built-in model ${DEFAULT_MODEL_FOLDER} is not there. Pass --model <folder> (a folder with manifest.json).`);
}

async function appVersion(): Promise<string> {
  const packageJson = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: string };
  return packageJson.version ?? '0.0.0';
}

function runRequestFrom(manifest: ModelManifest, options: SampleCommandOptions): RunRequest {
  const seeds = Array.from({ length: options.count }, (_, k) => options.seed + k);
  if ((seeds.at(-1) as number) > 2 ** 32 - 1) throw new Error(`Seeds run from ${options.seed} to ${seeds.at(-1)}, past the largest seed 4294967295. Use a smaller --seed.`);
  return {
    modelId: manifest.id,
    classIndex: findClass(manifest.classes, options.class),
    mode: options.mode ?? manifest.defaults.mode,
    scale: options.scale ?? manifest.defaults.scale,
    sampler: options.sampler ?? manifest.defaults.sampler,
    steps: options.steps ?? manifest.defaults.steps,
    eta: options.eta ?? manifest.defaults.eta,
    clipDenoised: options.clip,
    seeds,
    batchSize: options.batch,
    provider: options.provider,
  };
}

export async function runSampleCommand(options: SampleCommandOptions, log: (line: string) => void = () => {}): Promise<SampleCommandResult> {
  const folder = path.resolve(resolveModelFolder(options.model));
  const manifest = await readManifest(folder);
  const request = runRequestFrom(manifest, options);
  // Mistakes in the options are reported before the engine starts.
  const plan = planRun(manifest, request);
  const replayed: ReplayNoise | null = options.noiseFrom ? await readReplayNoise(options.noiseFrom) : null;
  if (replayed) checkReplayNoise(replayed, request, plan);
  const engine = createEngine({ modelFolders: [folder], threads: options.threads, unetPrecision: options.unetPrecision });
  const bar = options.progress ? new SingleBar({ format: 'sampling [{bar}] {percentage}% | batch {batchNo}/{batches} | step {value}/{total} | t={t}', hideCursor: true }) : null;
  const abort = new AbortController();
  const onInterrupt = (): void => abort.abort();
  process.once('SIGINT', onInterrupt);
  try {
    const info = await engine.loadModel(manifest.id, request.provider);
    for (const fallback of info.fallbacks) log(`provider ${fallback.provider} unavailable: ${fallback.error}`);
    log(`model ${manifest.id} on ${info.provider}${info.unetPrecision === 'fp16' ? ' (float16 UNet)' : ''}; class ${request.classIndex} (${manifest.classes.names[request.classIndex]}), ${request.mode}, scale ${request.scale}, ${request.sampler} ${request.steps}`);
    const result = await engine.sample(request, {
      signal: abort.signal,
      trajectory: options.trajectoryOut !== undefined,
      previewEvery: 0,
      ...(replayed ? { noise: replayed } : {}),
      onProgress: (event) => {
        if (bar === null) return;
        const totalSteps = event.steps * event.batches;
        if (event.step === 0 && event.batch === 0) bar.start(totalSteps, 0, { batchNo: 1, batches: event.batches, t: event.t });
        bar.update(event.batch * event.steps + event.step + 1, { batchNo: event.batch + 1, batches: event.batches, t: event.t });
      },
    });
    bar?.stop();
    const version = await appVersion();
    await mkdir(options.out, { recursive: true });
    const className = manifest.classes.names[request.classIndex] as string;
    const files: string[] = [];
    for (const sample of result.samples) {
      const recipe = recipeFromRequest(request, {
        seed: sample.seed,
        modelSha256: modelSha256(manifest),
        classifierSha256: guidingClassifierSha256(manifest, request.mode),
        className,
        noiseAlgorithm: replayed ? 'replayed' : NOISE_ALGORITHM,
        provider: result.provider,
        appVersion: version,
        createdAt: new Date(),
      });
      const png = withRecipe(encodePng(imageFromTensor(sample.image, sample.channels, sample.height, sample.width)), recipe);
      const file = path.join(options.out, recipeFileName(recipe));
      await writeFile(file, png);
      files.push(file);
    }
    const trajectoryFiles = options.trajectoryOut
      ? await writeTrajectories({
          folder: options.trajectoryOut,
          samples: result.samples,
          replayed,
          drawsStepNoise: request.sampler === 'ddpm' || request.eta > 0,
          recipe: { ...request, noiseAlgorithm: replayed ? 'replayed' : NOISE_ALGORITHM, provider: result.provider },
        })
      : [];
    const seconds = result.timings.totalMs / 1000;
    log(`${files.length} image(s) in ${seconds.toFixed(2)} s (${(seconds / files.length).toFixed(3)} s/image) → ${options.out}`);
    return { files, trajectoryFiles, result, request };
  } finally {
    bar?.stop();
    process.removeListener('SIGINT', onInterrupt);
    await engine.close();
  }
}

export function sampleCommand(): Command {
  return new Command('sample')
    .description('sample images of one class and write them as PNGs with their recipe')
    .option('-m, --model <folder>', `model folder (default: ${DEFAULT_MODEL_FOLDER})`)
    .requiredOption('-c, --class <class>', 'class index, name or synonym (e.g. 7, "sneaker", "ankle boot")')
    .option('-s, --scale <s>', 'classifier guidance scale (default: the model\'s)', realNumber('--scale', 0))
    .addOption(new Option('--mode <mode>', 'how the class enters sampling (default: the model\'s)').choices(['conditional', 'unconditional+classifier', 'conditional+classifier']))
    .addOption(new Option('--sampler <sampler>', 'sampler (default: the model\'s)').choices(['ddpm', 'ddim']))
    .option('--steps <steps>', 'respacing: "50", "ddim25" or section counts "10,15,20" (default: the model\'s)')
    .option('--eta <eta>', 'DDIM η from 0 (deterministic) to 1 (default: the model\'s)', realNumber('--eta', 0, 1))
    .option('--seed <n>', 'seed of the first image; image k uses seed + k', wholeNumber('--seed', 0, 2 ** 32 - 1), 0)
    .option('-n, --count <n>', 'number of images', wholeNumber('--count', 1, 100_000), 1)
    .option('-b, --batch <n>', 'images per batch', wholeNumber('--batch', 1, 256), 4)
    .addOption(new Option('--provider <provider>', 'execution provider').choices(ProviderName.options).default('auto'))
    .option('--threads <n>', 'CPU threads for onnxruntime (0: automatic)', wholeNumber('--threads', 0, 1024), 0)
    .addOption(unetPrecisionOption())
    .option('-o, --out <folder>', 'output folder for the PNGs', 'samples')
    .option('--no-clip', 'do not clip x̂₀ to [-1, 1] at each step')
    .option('--noise-from <path>', 'replay noise: a folder with x_T.npy and noise.npy (as --trajectory-out writes), or an x_T .npy')
    .option('--trajectory-out <folder>', 'also write x_T, per-step noise, xₜ and x̂₀ of every step as .npy')
    .option('--no-progress', 'no progress bar')
    .action(async (options: SampleCommandOptions) => {
      const { files } = await runSampleCommand(options, (line) => process.stderr.write(`${line}\n`));
      for (const file of files) process.stdout.write(`${file}\n`);
    });
}
