/**
 * `evaluate`: an evaluation job from the command line. Samples N images per guidance scale
 * into the gallery, scores them with the model's evaluator (FID, IS, precision, recall,
 * class accuracy) and prints the table. Ctrl-C cancels; `--resume ID` carries on later.
 *
 *   npm run cli -- evaluate --scales 0,1,2,4,8 --samples 200 --steps ddim25
 */
import { SingleBar } from 'cli-progress';
import { Command, InvalidArgumentError, Option } from 'commander';
import { drawnGuidance, type EvaluationRecord, type EvaluationSpecInput } from '../../../common/contract/evaluation';
import { scheduleText } from '../../../common/contract/guidance-schedule-text';
import { GuidanceMode, ProviderName, SamplerName, usesClassifierFree, type GuidanceScheduleSetting } from '../../../common/contract/run-request';
import { preferredDdimSpacing } from '../../../common/diffusion/guidance-safety';
import { findClass } from '../../../common/models/class-search';
import { defaultDataDir } from '../../gallery';
import type { UnetPrecision } from '../../inference';
import { readManifest } from '../../inference/model-folder';
import { openStudio } from '../../service/open-studio';
import { parseGuidanceSchedule, SCHEDULE_HELP } from '../guidance-schedule-option';
import { realNumber, unetPrecisionOption, wholeNumber } from '../option-parsers';
import { DEFAULT_MODEL_FOLDER } from './sample';

export interface EvaluateCommandOptions {
  model: string;
  classes?: string;
  scales: number[];
  samples: number;
  mode?: GuidanceMode;
  sampler?: SamplerName;
  /** w of classifier-free guidance; given alone, it picks the mode "classifier-free". */
  cfg?: number;
  schedule?: GuidanceScheduleSetting;
  steps?: string;
  eta?: number;
  data: string;
  provider: ProviderName;
  threads: number;
  unetPrecision: UnetPrecision;
  batch: number;
  resume?: number;
  seedOffset: number;
  /** Redis address: workers on other machines draw the shards (`cli worker`). */
  queue?: string;
  json: boolean;
  progress: boolean;
}

function scaleList(text: string): number[] {
  const scales = text.split(',').map((part) => part.trim()).filter((part) => part.length > 0).map(Number);
  if (scales.length === 0 || scales.some((scale) => !Number.isFinite(scale) || scale < 0)) {
    throw new InvalidArgumentError(`--scales must be a comma-separated list of numbers of 0 or more, such as "0,1,2,4", got "${text}".`);
  }
  return [...new Set(scales)];
}

function formatted(value: number | null, digits: number): string {
  return value === null ? '—' : value.toFixed(digits);
}

/** The results as an aligned text table, one row per scale. */
/** The line above the table: the evaluation, how it ended, and the settings every figure shares, w and the schedule among them. */
export function evaluationHeading(record: EvaluationRecord): string {
  const { spec } = record;
  const { cfgScale, guidanceSchedule } = drawnGuidance(spec);
  const settings = [spec.mode, ...(cfgScale === null ? [] : [`w = ${cfgScale}`]), `schedule ${scheduleText(guidanceSchedule)}`, `${spec.sampler} ${spec.steps}`, `η ${spec.eta}`];
  return `evaluation ${record.id} (${record.status}) · ${settings.join(' · ')}`;
}

export function resultsTable(record: EvaluationRecord): string {
  const header = ['scale', 'samples', 'FID', 'sFID', 'IS', 'IS splits', 'precision', 'recall', 'density', 'coverage', 'accuracy'];
  const rows = record.results.map((result) => [
    String(result.scale),
    String(result.sampleCount),
    formatted(result.fid, 3),
    formatted(result.sfid, 3),
    formatted(result.inceptionScore, 3),
    result.inceptionSplitSizes === null ? '—' : result.inceptionSplitSizes.join('+'),
    formatted(result.precision, 4),
    formatted(result.recall, 4),
    formatted(result.density, 4),
    formatted(result.coverage, 4),
    formatted(result.classAccuracy, 4),
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  return [header, ...rows].map((row) => row.map((cell, column) => cell.padStart(widths[column]!)).join('  ')).join('\n');
}

export async function runEvaluateCommand(options: EvaluateCommandOptions): Promise<EvaluationRecord> {
  const manifest = await readManifest(options.model);
  const studio = openStudio({
    dataDir: options.data,
    modelDirs: [options.model],
    threads: options.threads,
    unetPrecision: options.unetPrecision,
    carryOnQueue: false,
    evaluation: { provider: options.provider, batchSize: options.batch, ...(options.queue ? { queueUrl: options.queue } : {}) },
  });
  const service = studio.evaluations;
  const bar = options.progress ? new SingleBar({ format: 'evaluating [{bar}] {value}/{total} samples | scale {scale} | {phase}', hideCursor: true }) : null;
  let evaluationId: number | null = null;
  const cancel = () => {
    if (evaluationId !== null) service.cancelEvaluation(evaluationId);
  };
  process.once('SIGINT', cancel);
  service.onEvaluationEvent((event) => {
    if (event.type === 'started') bar?.start(event.totalSamples, 0, { scale: '—', phase: 'starting' });
    if (event.type === 'progress') bar?.update(event.doneSamples, { scale: event.scale, phase: event.phase });
    if (event.type === 'finished') bar?.stop();
  });
  try {
    if (options.resume !== undefined) {
      evaluationId = (await service.resumeEvaluation(options.resume)).id;
    } else {
      const classes = options.classes
        ? options.classes.split(',').map((name) => findClass(manifest.classes, name))
        : Array.from({ length: manifest.classes.count }, (_, index) => index);
      if (options.cfg !== undefined && options.mode !== undefined && !usesClassifierFree(options.mode)) {
        throw new Error(`--cfg ${options.cfg} is read only in the modes "classifier-free" and "classifier-free+classifier", not in "${options.mode}". Pick one of those with --mode, or leave --cfg out.`);
      }
      const sampler = options.sampler ?? manifest.defaults.sampler;
      const spec: EvaluationSpecInput = {
        modelId: manifest.id,
        classes: [...new Set(classes)],
        scales: options.scales,
        mode: options.mode ?? (options.cfg === undefined ? manifest.defaults.mode : 'classifier-free'),
        ...(options.cfg === undefined ? {} : { cfgScale: options.cfg }),
        ...(options.schedule === undefined ? {} : { guidanceSchedule: options.schedule }),
        sampler,
        // DDIM guided from a plain spacing starts where ᾱ saturates the guidance; its "ddimN" twin does not.
        steps: options.steps ?? (sampler === 'ddim' ? preferredDdimSpacing(manifest.defaults.steps) : manifest.defaults.steps),
        eta: options.eta ?? manifest.defaults.eta,
        samplesPerScale: options.samples,
        seedOffset: options.seedOffset,
      };
      evaluationId = (await service.startEvaluation(spec)).id;
    }
    await service.whenIdle();
    const record = service.getEvaluation(evaluationId);
    if (record.status === 'cancelled') process.stderr.write(`Evaluation ${record.id} was cancelled; its samples are kept. Carry on with: npm run cli -- evaluate --resume ${record.id}\n`);
    if (record.status === 'failed') throw new Error(`Evaluation ${record.id} failed: ${record.error ?? 'no reason was recorded'}`);
    return record;
  } finally {
    process.removeListener('SIGINT', cancel);
    bar?.stop();
    await studio.close();
  }
}

export function evaluateCommand(): Command {
  return new Command('evaluate')
    .description('sample N images per guidance scale and measure FID, IS, precision, recall and class accuracy against the model\'s reference data')
    .option('--model <folder>', 'model folder (with an evaluator)', DEFAULT_MODEL_FOLDER)
    .option('--classes <list>', 'comma-separated classes, by index or name (default: all)')
    .addOption(new Option('--scales <list>', 'comma-separated guidance scales').argParser(scaleList).default([0, 1, 2, 4], '0,1,2,4'))
    .addOption(new Option('--samples <n>', 'samples per scale, spread over the classes').argParser(wholeNumber('--samples', 4)).default(100))
    .addOption(new Option('--mode <mode>', 'guidance mode (default: the model\'s)').choices(GuidanceMode.options))
    .addOption(new Option('--sampler <name>', 'sampler: ddpm, ddim or dpmpp2m (DPM-Solver++(2M)) (default: the model\'s)').choices(SamplerName.options))
    .option('--cfg <w>', 'classifier-free guidance weight w; alone it picks --mode classifier-free', realNumber('--cfg', 0, 100))
    .option('--schedule <schedule>', SCHEDULE_HELP, parseGuidanceSchedule)
    .option('--steps <spacing>', 'respacing such as ddim25 or 250 (default: the model\'s)')
    .addOption(new Option('--eta <value>', 'DDIM η').argParser(realNumber('--eta', 0, 1)))
    .addOption(new Option('--data <dir>', 'data folder holding gallery.sqlite').default(defaultDataDir(), "the studio's user-data folder"))
    .addOption(new Option('--provider <name>', 'execution provider').choices(ProviderName.options).default('auto'))
    .addOption(new Option('--threads <n>', 'CPU threads (0: onnxruntime decides)').argParser(wholeNumber('--threads', 0)).default(0))
    .addOption(unetPrecisionOption())
    .addOption(new Option('--batch <n>', 'samples per batch').argParser(wholeNumber('--batch', 1, 256)).default(16))
    .addOption(new Option('--seed-offset <n>', 'sample i has seed n + i: repeat an evaluation at other offsets for mean ± std').argParser(wholeNumber('--seed-offset', 0)).default(0))
    .addOption(new Option('--resume <id>', 'carry on an interrupted or cancelled evaluation').argParser(wholeNumber('--resume', 1)))
    .option('--queue <url>', 'Redis address (redis://:PASSWORD@host:6379): workers on other machines (cli worker) draw the shards; this machine scores them')
    .option('--json', 'print the evaluation record as JSON instead of a table', false)
    .option('--no-progress', 'no progress bar')
    .action(async (options: EvaluateCommandOptions) => {
      const record = await runEvaluateCommand(options);
      process.stdout.write(options.json ? `${JSON.stringify(record)}\n` : `${evaluationHeading(record)}\n${resultsTable(record)}\n`);
    });
}
