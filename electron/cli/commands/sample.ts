/**
 * `sample`: images of one class from a model folder, written as PNGs that carry their recipe.
 *
 *   npm run cli -- sample --class sneaker --scale 4 --count 8 --out samples
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SingleBar } from 'cli-progress';
import { Command, InvalidArgumentError, Option } from 'commander';
import { GuidanceMode, ProviderName, SamplerName, StepPlacement, usesClassifierFree, type GuidanceScheduleSetting, type RunRequest } from '../../../common/contract/run-request';
import { preferredDdimSpacing } from '../../../common/diffusion/guidance-safety';
import { parseScheduleText } from '../../../common/contract/guidance-schedule-text';
import type { RunEvent } from '../../../common/contract/studio-api';
import { NOISE_ALGORITHM } from '../../../common/diffusion/rng';
import { findClass } from '../../../common/models/class-search';
import type { ModelManifest } from '../../../common/models/manifest';
import { planRun } from '../../../common/models/run-plan';
import type { ReplayNoise, RunResult, UnetPrecision } from '../../inference';
import { readManifest } from '../../inference/model-folder';
import { checkReplayNoise, needsStepNoise } from '../../inference/replay-noise';
import { stepPlacementProblem } from '../../inference/step-placement';
import { openStudio, type Studio } from '../../service/open-studio';
import { REPLAYED_NOISE } from '../../service/run-job';
import { readReplayNoise, writeTrajectories } from '../noise-files';
import { parseGuidanceSchedule, SCHEDULE_HELP } from '../guidance-schedule-option';
import { realNumber, unetPrecisionOption, wholeNumber } from '../option-parsers';

/** The built-in model, used when --model is not given. */
export const DEFAULT_MODEL_FOLDER = path.join('models', 'fashion-mnist');

export interface SampleCommandOptions {
  model?: string;
  class: string;
  scale?: number;
  mode?: RunRequest['mode'];
  sampler?: RunRequest['sampler'];
  /** w of classifier-free guidance; given alone, it picks the mode "classifier-free". */
  cfg?: number;
  schedule?: GuidanceScheduleSetting;
  steps?: string;
  eta?: number;
  seed: number;
  count: number;
  batch: number;
  provider: ProviderName;
  /** Where the reverse steps run; absent: "auto". */
  stepsOn?: StepPlacement;
  out: string;
  /** Data folder whose gallery the run is drawn into; a temporary one, removed afterwards, when absent. */
  data?: string;
  clip: boolean;
  threads: number;
  unetPrecision: UnetPrecision;
  noiseFrom?: string;
  trajectoryOut?: string;
  progress: boolean;
  /** First step (0-based) drawn with the --switch-* settings; steps before it use the others. */
  switchAt?: number;
  switchClass?: string;
  switchScale?: number;
  switchSampler?: RunRequest['sampler'];
  switchCfg?: number;
  switchSchedule?: GuidanceScheduleSetting;
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

/** --steps-on: auto, device or host. */
function stepPlacementOption(text: string): StepPlacement {
  const parsed = StepPlacement.safeParse(text);
  if (!parsed.success) throw new InvalidArgumentError(`--steps-on must be auto, device or host, got "${text.slice(0, 40)}".`);
  return parsed.data;
}

/** --switch-schedule, read as --schedule is, its sentence naming the flag. */
function switchedScheduleOption(text: string): GuidanceScheduleSetting {
  const parsed = parseScheduleText(text);
  if (!parsed.ok) throw new InvalidArgumentError(`--switch-schedule ${parsed.problem}.`);
  return parsed.schedule;
}

/** The --switch-* options as the request's switchAt; a --switch-* setting without --switch-at is refused. */
function switchFrom(manifest: ModelManifest, options: SampleCommandOptions): Pick<RunRequest, 'switchAt'> {
  const given = [
    ['--switch-class', options.switchClass],
    ['--switch-scale', options.switchScale],
    ['--switch-sampler', options.switchSampler],
    ['--switch-cfg', options.switchCfg],
    ['--switch-schedule', options.switchSchedule],
  ].filter(([, value]) => value !== undefined);
  if (options.switchAt === undefined) {
    if (given.length > 0) throw new Error(`${given.map(([flag]) => flag).join(', ')} ${given.length === 1 ? 'needs' : 'need'} --switch-at K, the first step drawn with the switched settings.`);
    return {};
  }
  return {
    switchAt: {
      step: options.switchAt,
      ...(options.switchClass === undefined ? {} : { classIndex: findClass(manifest.classes, options.switchClass) }),
      ...(options.switchScale === undefined ? {} : { scale: options.switchScale }),
      ...(options.switchSampler === undefined ? {} : { sampler: options.switchSampler }),
      ...(options.switchCfg === undefined ? {} : { cfgScale: options.switchCfg }),
      ...(options.switchSchedule === undefined ? {} : { guidanceSchedule: options.switchSchedule }),
    },
  };
}

function runRequestFrom(manifest: ModelManifest, options: SampleCommandOptions): RunRequest {
  const seeds = Array.from({ length: options.count }, (_, k) => options.seed + k);
  if ((seeds.at(-1) as number) > 2 ** 32 - 1) throw new Error(`Seeds run from ${options.seed} to ${seeds.at(-1)}, past the largest seed 4294967295. Use a smaller --seed.`);
  if (options.cfg !== undefined && options.mode !== undefined && !usesClassifierFree(options.mode)) {
    throw new Error(`--cfg ${options.cfg} is read only in the modes "classifier-free" and "classifier-free+classifier", not in "${options.mode}". Pick one of those with --mode, or leave --cfg out.`);
  }
  const sampler = options.sampler ?? manifest.defaults.sampler;
  return {
    modelId: manifest.id,
    classIndex: findClass(manifest.classes, options.class),
    mode: options.mode ?? (options.cfg === undefined ? manifest.defaults.mode : 'classifier-free'),
    ...(options.cfg === undefined ? {} : { cfgScale: options.cfg }),
    ...(options.schedule === undefined ? {} : { guidanceSchedule: options.schedule }),
    scale: options.scale ?? manifest.defaults.scale,
    sampler,
    // DDIM guided from a plain spacing starts where ᾱ saturates the guidance; its "ddimN" twin does not.
    steps: options.steps ?? (sampler === 'ddim' ? preferredDdimSpacing(manifest.defaults.steps) : manifest.defaults.steps),
    eta: options.eta ?? manifest.defaults.eta,
    clipDenoised: options.clip,
    seeds,
    batchSize: options.batch,
    provider: options.provider,
    ...(options.stepsOn === undefined ? {} : { stepsOn: options.stepsOn }),
    ...switchFrom(manifest, options),
  };
}

/** Resolves with the job's `finished` event; step events move the progress bar meanwhile. */
function runFinished(studio: Studio, jobId: () => number | null, bar: SingleBar | null): Promise<Extract<RunEvent, { type: 'finished' }>> {
  return new Promise((resolve) => {
    const unsubscribe = studio.onRunEvent((event) => {
      if (event.jobId !== jobId()) return;
      if (event.type === 'step' && bar !== null) {
        const total = event.totalSteps * event.batchCount;
        if (event.step === 1 && event.batchIndex === 0) bar.start(total, 0, { batchNo: 1, batches: event.batchCount });
        bar.update(event.batchIndex * event.totalSteps + event.step, { batchNo: event.batchIndex + 1, batches: event.batchCount });
      }
      if (event.type !== 'finished') return;
      unsubscribe();
      resolve(event);
    });
  });
}

/**
 * Draws the images as a run of the studio (into the gallery of --data, or a temporary one),
 * then exports each sample as the gallery exports it: a PNG carrying its recipe.
 */
export async function runSampleCommand(options: SampleCommandOptions, log: (line: string) => void = () => {}): Promise<SampleCommandResult> {
  const folder = path.resolve(resolveModelFolder(options.model));
  const manifest = await readManifest(folder);
  const request = runRequestFrom(manifest, options);
  // Mistakes in the options are reported before the studio opens.
  const plan = planRun(manifest, request);
  const placementProblem = stepPlacementProblem(request, plan, options.trajectoryOut !== undefined);
  if (placementProblem !== null) throw new Error(placementProblem);
  const replayed: ReplayNoise | null = options.noiseFrom ? await readReplayNoise(options.noiseFrom) : null;
  if (replayed) checkReplayNoise(replayed, request, plan);
  const dataDir = options.data ?? (await mkdtemp(path.join(tmpdir(), 'gds-sample-')));
  const studio = openStudio({ dataDir, modelDirs: [folder], threads: options.threads, unetPrecision: options.unetPrecision, carryOnQueue: false });
  const bar = options.progress ? new SingleBar({ format: 'sampling [{bar}] {percentage}% | batch {batchNo}/{batches} | step {value}/{total}', hideCursor: true }) : null;
  let jobId: number | null = null;
  const onInterrupt = (): void => {
    if (jobId !== null) void studio.cancelRun({ jobId });
  };
  process.once('SIGINT', onInterrupt);
  try {
    if (studio.queue.view().paused) {
      throw new Error(`The queue of the studio in ${dataDir} is paused, so this run would wait there; resume the queue in the studio, or pass another --data folder.`);
    }
    const loaded = await studio.loadModel({ modelId: manifest.id, provider: request.provider });
    if (loaded.fallbackNote !== null) log(loaded.fallbackNote);
    log(`model ${manifest.id} on ${loaded.activeProvider}${loaded.unetPrecision === 'fp16' ? ' (float16 UNet)' : ''}; class ${request.classIndex} (${manifest.classes.names[request.classIndex]}), ${request.mode}, scale ${request.scale}, ${request.sampler} ${request.steps}`);
    let result: RunResult | null = null;
    const finished = runFinished(studio, () => jobId, bar);
    jobId = (
      await studio.runs.startInProcessRun(request, options.trajectoryOut !== undefined, {
        ...(replayed ? { noise: replayed } : {}),
        onResult: (drawn) => (result = drawn),
      })
    ).jobId;
    const ending = await finished;
    bar?.stop();
    if (ending.status === 'cancelled') throw new Error(`Sampling was cancelled after ${ending.sampleCount} image(s); nothing was written to ${options.out}.`);
    if (ending.status === 'failed' || result === null) throw new Error(ending.message ?? 'Sampling failed; the log above says why.');
    const drawn: RunResult = result;
    const runId = studio.queue.view().entries.find((entry) => entry.jobId === jobId)?.runId;
    const samples = (await studio.listSamples({ runId: runId ?? undefined, limit: Math.max(request.seeds.length, 1) })).items;
    samples.sort((a, b) => request.seeds.indexOf(a.seed) - request.seeds.indexOf(b.seed));
    await mkdir(options.out, { recursive: true });
    const files: string[] = [];
    for (const sample of samples) {
      const exported = studio.gallery.exportPng(sample.id);
      const file = path.join(options.out, exported.fileName);
      await writeFile(file, exported.png);
      files.push(file);
    }
    const noiseAlgorithm = replayed ? REPLAYED_NOISE : NOISE_ALGORITHM;
    const trajectoryFiles = options.trajectoryOut
      ? await writeTrajectories({
          folder: options.trajectoryOut,
          samples: drawn.samples,
          replayed,
          drawsStepNoise: needsStepNoise(request) || (plan.switchAt !== null && needsStepNoise(plan.switchAt)),
          recipe: { ...request, noiseAlgorithm, provider: drawn.provider },
        })
      : [];
    const seconds = drawn.timings.totalMs / 1000;
    log(`${files.length} image(s) in ${seconds.toFixed(2)} s (${(seconds / files.length).toFixed(3)} s/image) → ${options.out}`);
    return { files, trajectoryFiles, result: drawn, request };
  } finally {
    bar?.stop();
    process.removeListener('SIGINT', onInterrupt);
    await studio.close();
    if (options.data === undefined) await rm(dataDir, { recursive: true, force: true });
  }
}

export function sampleCommand(): Command {
  return new Command('sample')
    .description('sample images of one class and write them as PNGs with their recipe')
    .option('-m, --model <folder>', `model folder (default: ${DEFAULT_MODEL_FOLDER})`)
    .requiredOption('-c, --class <class>', 'class index, name or synonym (e.g. 7, "sneaker", "ankle boot")')
    .option('-s, --scale <s>', 'classifier guidance scale (default: the model\'s)', realNumber('--scale', 0))
    .addOption(new Option('--mode <mode>', 'how the class enters sampling (default: the model\'s)').choices(GuidanceMode.options))
    .addOption(new Option('--sampler <sampler>', 'sampler: ddpm, ddim or dpmpp2m (DPM-Solver++(2M), good in 15–20 steps) (default: the model\'s)').choices(SamplerName.options))
    .option('--cfg <w>', 'classifier-free guidance weight w (needs a UNet with a null class); alone it picks --mode classifier-free', realNumber('--cfg', 0, 100))
    .option('--schedule <schedule>', SCHEDULE_HELP, parseGuidanceSchedule)
    .option('--steps <steps>', 'respacing: "50", "ddim25" or section counts "10,15,20" (default: the model\'s)')
    .option('--eta <eta>', 'DDIM η from 0 (deterministic) to 1 (default: the model\'s)', realNumber('--eta', 0, 1))
    .option('--seed <n>', 'seed of the first image; image k uses seed + k', wholeNumber('--seed', 0, 2 ** 32 - 1), 0)
    .option('-n, --count <n>', 'number of images', wholeNumber('--count', 1, 100_000), 1)
    .option('-b, --batch <n>', 'images per batch', wholeNumber('--batch', 1, 256), 4)
    .addOption(new Option('--provider <provider>', 'execution provider').choices(ProviderName.options).default('auto'))
    .option(
      '--steps-on <placement>',
      'where the reverse steps run: device (x and the network outputs stay on the provider; DDIM and DDPM without classifier-free guidance, switches or --trajectory-out), host (on the CPU between network calls) or auto (device on WebGPU only); the images agree within float rounding (default: auto)',
      stepPlacementOption,
    )
    .option('--threads <n>', 'CPU threads for onnxruntime (0: automatic)', wholeNumber('--threads', 0, 1024), 0)
    .addOption(unetPrecisionOption())
    .option('-o, --out <folder>', 'output folder for the PNGs', 'samples')
    .option('--data <dir>', 'data folder whose gallery keeps the run (default: a temporary one, removed afterwards)')
    .option('--no-clip', 'do not clip x̂₀ to [-1, 1] at each step')
    .option('--noise-from <path>', 'replay noise: a folder with x_T.npy and noise.npy (as --trajectory-out writes), or an x_T .npy')
    .option('--trajectory-out <folder>', 'also write x_T, per-step noise, xₜ and x̂₀ of every step as .npy')
    .option('--switch-at <k>', 'switch settings part way: steps from K on (0-based, 1 to steps − 1) use the --switch-* settings', wholeNumber('--switch-at', 1, 100_000))
    .option('--switch-class <class>', 'class from --switch-at on: index, name or synonym (the UNet\'s label and the classifier\'s)')
    .option('--switch-scale <s>', 'classifier guidance scale from --switch-at on', realNumber('--switch-scale', 0, 100))
    .addOption(new Option('--switch-sampler <sampler>', 'sampler from --switch-at on, on the same timesteps (DPM-Solver++ restarts first order there)').choices(SamplerName.options))
    .option('--switch-cfg <w>', 'classifier-free guidance weight from --switch-at on', realNumber('--switch-cfg', 0, 100))
    .option('--switch-schedule <schedule>', 'classifier scale over t from --switch-at on: constant, interval:LO-HI or ramp:FROM-TO', switchedScheduleOption)
    .option('--no-progress', 'no progress bar')
    .action(async (options: SampleCommandOptions) => {
      const { files } = await runSampleCommand(options, (line) => process.stderr.write(`${line}\n`));
      for (const file of files) process.stdout.write(`${file}\n`);
    });
}
