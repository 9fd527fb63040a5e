/**
 * `gallery list | show | export | import`: browse the studio's gallery from a terminal, read one
 * sample's settings and how its run went, save samples as PNGs carrying their recipe, and turn
 * such a PNG back into a run request.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Command, Option } from 'commander';
import type { SampleDetail, SampleQuery, SampleRecord } from '../../../common/contract/gallery';
import { providerRows } from '../../../common/contract/run-provider-text';
import { SamplerName } from '../../../common/contract/run-request';
import type { RunEvent } from '../../../common/contract/studio-api';
import { findClass } from '../../../common/models/class-search';
import { defaultDataDir, galleryFile, importRecipe, type ModelLookup } from '../../gallery';
import type { InstalledModel } from '../../gallery/recipes';
import { modelFingerprint } from '../../../common/models/model-identity';
import { readManifest } from '../../inference/model-folder';
import { findModelFolders } from '../../service/model-folders';
import { openStudio, type Studio } from '../../service/open-studio';
import { realNumber, wholeNumber } from '../option-parsers';

const dataOption = () => new Option('--data <dir>', 'data folder holding gallery.sqlite').default(defaultDataDir(), "the studio's user-data folder");

/** Opens the studio on a data folder that must already hold a gallery (the command line never creates it); it runs nothing. */
function openExistingGallery(dataDir: string): Studio {
  const file = galleryFile(dataDir);
  if (!existsSync(file)) {
    throw new Error(`There is no gallery in ${dataDir} (no gallery.sqlite). Generate an image in the studio first, or pass --data with the right folder.`);
  }
  return openStudio({ dataDir, modelDirs: [], carryOnQueue: false });
}

interface ListOptions {
  data: string;
  model?: string;
  class?: number;
  scaleMin?: number;
  scaleMax?: number;
  sampler?: SamplerName;
  favorite?: boolean;
  tag?: string;
  notes?: string;
  before?: number;
  limit: number;
  json?: boolean;
}

function sampleLine(sample: SampleRecord): string {
  const when = new Date(sample.createdAt).toISOString().replace('T', ' ').slice(0, 19);
  const flags = [sample.favorite ? '★' : '', ...sample.tags.map((tag) => `#${tag}`)].filter(Boolean).join(' ');
  return [
    String(sample.id).padStart(7),
    when,
    sample.modelId,
    `class ${sample.classIndex}`,
    `scale ${sample.scale}`,
    `${sample.sampler} ${sample.steps}`,
    `seed ${sample.seed}`,
    flags,
  ].join('  ').trimEnd();
}

async function listSamples(options: ListOptions): Promise<void> {
  const studio = openExistingGallery(options.data);
  try {
    const query: SampleQuery = {
      modelId: options.model,
      classIndex: options.class,
      scaleMin: options.scaleMin,
      scaleMax: options.scaleMax,
      sampler: options.sampler,
      favorite: options.favorite,
      tag: options.tag,
      notesText: options.notes,
      before: options.before,
      limit: options.limit,
    };
    const page = studio.gallery.samples.list(query);
    if (options.json) {
      process.stdout.write(`${JSON.stringify(page, null, 2)}\n`);
      return;
    }
    for (const sample of page.items) process.stdout.write(`${sampleLine(sample)}\n`);
    if (page.items.length === 0) process.stdout.write('No samples match.\n');
    if (page.nextCursor !== null) process.stdout.write(`More: add --before ${page.nextCursor}\n`);
  } finally {
    await studio.close();
  }
}

/** What `gallery show` prints of a sample: its settings, the provider that drew it and why, and how its run ended. */
export function sampleDetailLines({ sample, run }: SampleDetail): string[] {
  const rows: [string, string][] = [
    ['Sample', `#${sample.id}`],
    ['Model', sample.modelId],
    ['Class', String(sample.classIndex)],
    ['Mode', sample.mode],
    ['Scale', String(sample.scale)],
    ['Sampler', `${sample.sampler} ${sample.steps}`],
    ['η', String(run.request.eta)],
    ['Seed', String(sample.seed)],
    ['Confidence', sample.confidence === null ? '–' : sample.confidence.toFixed(4)],
    ...providerRows(run),
    ['Noise', run.noiseAlgorithm],
    ['Run', `#${run.id} · ${run.status}${run.error === null ? '' : ` · ${run.error}`}`],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  return rows.map(([label, value]) => `${`${label}:`.padEnd(width + 2)}${value}`);
}

async function showSample(sampleId: number, options: { data: string; json?: boolean }): Promise<void> {
  const studio = openExistingGallery(options.data);
  try {
    const detail = studio.gallery.samples.detail(sampleId);
    if (detail === undefined) throw new Error(`Sample ${sampleId} is not in the gallery of ${options.data}; \`gallery list\` shows the ids there are.`);
    const shown = options.json ? JSON.stringify({ sample: detail.sample, run: detail.run }, null, 2) : sampleDetailLines(detail).join('\n');
    process.stdout.write(`${shown}\n`);
  } finally {
    await studio.close();
  }
}

async function exportSamples(ids: number[], options: { data: string; out: string }): Promise<void> {
  const studio = openExistingGallery(options.data);
  try {
    for (const id of ids) {
      const exported = studio.gallery.exportPng(id);
      const target = path.join(options.out, exported.fileName);
      await writeFile(target, exported.png);
      process.stdout.write(`${target}\n`);
    }
  } finally {
    await studio.close();
  }
}

/** The models installed in `modelsDir`, by id, with the fingerprint a recipe names. */
async function installedModels(modelsDir: string): Promise<ModelLookup> {
  const found = new Map<string, InstalledModel>();
  // A models folder that is not there holds no models; the import then says which one it lacks.
  for (const folder of existsSync(modelsDir) ? findModelFolders([modelsDir]) : []) {
    const manifest = await readManifest(folder);
    found.set(manifest.id, { ...modelFingerprint(manifest), manifest });
  }
  return (modelId) => found.get(modelId);
}

async function importPng(file: string, options: { models: string }): Promise<void> {
  const bytes = await readFile(file).catch(() => {
    throw new Error(`Cannot read ${file}: the file does not exist or is not readable.`);
  });
  const imported = importRecipe(bytes, await installedModels(options.models));
  if (imported.warning !== null) process.stderr.write(`Warning: ${imported.warning}\n`);
  process.stdout.write(`${JSON.stringify(imported.request, null, 2)}\n`);
}

export interface ForkOptions {
  data: string;
  models: string;
  step: number;
  class?: string;
  scale?: number;
  sampler?: SamplerName;
  cfg?: number;
  threads: number;
}

/**
 * Forks a sample from step K into the same gallery (its steps before K replayed from the seed,
 * the rest with the changes) and resolves with the new sample's id once it is drawn.
 */
export async function forkSample(sampleId: number, options: ForkOptions): Promise<number> {
  const file = galleryFile(options.data);
  if (!existsSync(file)) throw new Error(`There is no gallery in ${options.data} (no gallery.sqlite); pass --data with the folder that holds sample ${sampleId}.`);
  const studio = openStudio({ dataDir: options.data, modelDirs: existsSync(options.models) ? findModelFolders([options.models]) : [], threads: options.threads, carryOnQueue: false });
  try {
    const parent = await studio.getSample({ sampleId });
    const manifest = await studio.catalog.manifestOf(parent.run.modelId);
    const changes = {
      ...(options.class === undefined ? {} : { classIndex: findClass(manifest.classes, options.class) }),
      ...(options.scale === undefined ? {} : { scale: options.scale }),
      ...(options.sampler === undefined ? {} : { sampler: options.sampler }),
      ...(options.cfg === undefined ? {} : { cfgScale: options.cfg }),
    };
    if (Object.keys(changes).length === 0) throw new Error('A fork needs at least one of --class, --scale, --sampler or --cfg: what the steps from --step on change.');
    let jobId: number | null = null;
    const drawn = new Promise<Extract<RunEvent, { type: 'sample' | 'finished' }>[]>((resolve) => {
      const seen: Extract<RunEvent, { type: 'sample' | 'finished' }>[] = [];
      const unsubscribe = studio.onRunEvent((event) => {
        if (event.jobId !== jobId || (event.type !== 'sample' && event.type !== 'finished')) return;
        seen.push(event);
        if (event.type === 'finished') {
          unsubscribe();
          resolve(seen);
        }
      });
    });
    jobId = (await studio.forkSample({ sampleId, step: options.step, changes })).jobId;
    const events = await drawn;
    const finished = events.find((event) => event.type === 'finished');
    const sample = events.find((event) => event.type === 'sample');
    if (finished?.type !== 'finished' || finished.status !== 'completed' || sample?.type !== 'sample') {
      throw new Error(finished?.type === 'finished' && finished.message !== null ? finished.message : `The fork of sample ${sampleId} did not finish.`);
    }
    return sample.sample.id;
  } finally {
    await studio.close();
  }
}

export function galleryCommand(): Command {
  const gallery = new Command('gallery').description('list, export and import gallery samples');

  gallery
    .command('list')
    .description('samples newest first, filtered; one line each (or --json)')
    .addOption(dataOption())
    .option('--model <id>', 'only this model')
    .addOption(new Option('--class <index>', 'only this class index').argParser(wholeNumber('--class', 0)))
    .addOption(new Option('--scale-min <s>', 'guidance scale at least').argParser(realNumber('--scale-min', 0)))
    .addOption(new Option('--scale-max <s>', 'guidance scale at most').argParser(realNumber('--scale-max', 0)))
    .addOption(new Option('--sampler <name>', 'only this sampler').choices(SamplerName.options))
    .option('--favorite', 'only favorites')
    .option('--tag <tag>', 'only samples with this tag')
    .option('--notes <text>', 'only samples whose notes contain this text')
    .addOption(new Option('--before <id>', 'continue after this sample id (from the previous page)').argParser(wholeNumber('--before', 1)))
    .addOption(new Option('--limit <n>', 'samples per page').argParser(wholeNumber('--limit', 1)).default(20))
    .option('--json', 'print the page as JSON')
    .action((options: ListOptions) => listSamples(options));

  gallery
    .command('show')
    .description("one sample's settings, the provider that drew it (and why, when it is not the one asked for) and how its run ended")
    .argument('<sampleId>', 'the sample (see gallery list)', wholeNumber('sample id', 1))
    .addOption(dataOption())
    .option('--json', 'print the sample and its run as JSON')
    .action((sampleId: number, options: { data: string; json?: boolean }) => showSample(sampleId, options));

  gallery
    .command('export')
    .description('write samples as PNGs carrying their full recipe')
    .argument('<ids...>', 'sample ids (see gallery list)', (text: string, previous: number[] = []) => [...previous, wholeNumber('sample id', 1)(text)])
    .addOption(dataOption())
    .option('--out <dir>', 'folder to write the PNGs into', '.')
    .action((ids: number[], options: { data: string; out: string }) => exportSamples(ids, options));

  gallery
    .command('import')
    .description('print the run request that re-creates a PNG exported by the studio')
    .argument('<png>', 'an image exported by the studio or `sample`')
    .option('--models <dir>', 'folder of installed model folders', 'models')
    .action((file: string, options: { models: string }) => importPng(file, options));

  gallery
    .command('fork')
    .description('continue a sample from step K with another class, scale, sampler or weight: a new sample of the gallery, linked to it')
    .argument('<sampleId>', 'the sample to fork (see gallery list)', wholeNumber('sample id', 1))
    .addOption(dataOption())
    .option('--models <dir>', 'folder of installed model folders', 'models')
    .requiredOption('--step <k>', 'first step (0-based) drawn with the changes; the steps before it are the sample\'s own', wholeNumber('--step', 1, 100_000))
    .option('--class <class>', 'class from --step on: index, name or synonym')
    .option('--scale <s>', 'classifier guidance scale from --step on', realNumber('--scale', 0, 100))
    .addOption(new Option('--sampler <sampler>', 'sampler from --step on, on the same timesteps').choices(SamplerName.options))
    .option('--cfg <w>', 'classifier-free guidance weight from --step on', realNumber('--cfg', 0, 100))
    .option('--threads <n>', 'CPU threads for onnxruntime (0: automatic)', wholeNumber('--threads', 0, 1024), 0)
    .action(async (sampleId: number, options: ForkOptions) => {
      const forked = await forkSample(sampleId, options);
      process.stdout.write(`${forked}\n`);
    });

  return gallery;
}
