/**
 * Sampling speed of the engine against PyTorch on the same weights, side by side in one run:
 * CPU, classifier-guided DDIM 50 at batch 16 and 64, the engine and PyTorch eager,
 * channels-last and torch.compile (inductor), all on the same threads.
 *
 *   npm run bench [-- --model <folder> --batch 16,64 --steps ddim50 --threads 2|auto]
 *                 [--variants eager,channels-last,compile]
 *                 [--no-imagenet64 | --imagenet64-batch 1,4 | --imagenet64-reduced]
 *
 * The PyTorch weights are the training checkpoints' when they lie beside the model
 * (`<model>-torch`, `<model>/torch`, `checkpoints/<id>/torch`); otherwise they are rebuilt
 * from the model folder's ONNX graphs, checked against onnxruntime (≤ 1e-5 relative) and
 * cached in .cache/bench-weights/<id>, so a fresh clone compares too.
 *
 * Prints per batch the seconds per image of each contender and `engine_vs_fastest_pytorch`;
 * onnxruntime time per UNet and classifier-gradient call, the share of time spent outside
 * onnxruntime, peak RSS and the main thread's event-loop lag; the FLOPs of one UNet call and
 * one classifier-gradient call per image (torch.utils.flop_counter), a measured float32 matmul
 * peak on the same threads and the fraction of it the engine reaches. Then it times one guided
 * step of the full-size ImageNet 64×64 architecture with random weights against PyTorch
 * (minutes and about 2.5 GB of disk the first time, cached in .cache/bench-imagenet64; skipped
 * with --no-imagenet64 or BENCH_NO_IMAGENET64=1).
 * The last line is `RESULT engine_vs_fastest_pytorch_b<batch>=<ratio> … engine_vs_pytorch=<ratio
 * to eager at the first batch> peak_fraction_b<batch>=<fraction> … overhead=<fraction>
 * loop_lag_p99_ms=<ms>`.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import type { GuidanceMode, RunRequest } from '../common/contract/run-request';
import { createEngine } from '../electron/inference';
import { readManifest } from '../electron/inference/model-folder';
import { intraOpThreads } from '../electron/inference/thread-policy';
import { benchImagenet64GuidedStep } from './imagenet64-step';

const PYTORCH_VARIANTS = ['eager', 'channels-last', 'compile'] as const;
type PytorchVariant = (typeof PYTORCH_VARIANTS)[number];

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    batch: { type: 'string', default: '16,64' },
    steps: { type: 'string', default: 'ddim50' },
    threads: { type: 'string', default: '2' },
    scale: { type: 'string' },
    variants: { type: 'string', default: PYTORCH_VARIANTS.join(',') },
    'no-imagenet64': { type: 'boolean', default: false },
    'imagenet64-batch': { type: 'string', default: '1' },
    'imagenet64-reduced': { type: 'boolean', default: false },
  },
});

function positiveIntegers(text: string, flag: string): number[] {
  const numbers = text.split(',').map(Number);
  if (numbers.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`${flag} takes positive integers separated by commas, e.g. 16,64; got "${text}".`);
  return numbers;
}

const MODEL_CANDIDATES = ['models/fashion-mnist', 'test/fixtures/tiny-model', 'test/fixtures/linear-8px'];

function chooseModel(): string {
  if (values.model) return values.model;
  const found = MODEL_CANDIDATES.find((folder) => existsSync(path.join(folder, 'manifest.json')));
  if (found === undefined) throw new Error(`No model to benchmark: none of ${MODEL_CANDIDATES.join(', ')} has a manifest.json.`);
  return found;
}

/** Training-time PyTorch weights of the same networks (config.json, unet.pt, classifier.pt), when they are here. */
function checkpointWeights(modelDir: string, modelId: string): string | null {
  const candidates = [`${modelDir}-torch`, path.join(modelDir, 'torch'), path.join('checkpoints', modelId, 'torch'), path.join('checkpoints', modelId)];
  return candidates.find((dir) => ['config.json', 'unet.pt', 'classifier.pt'].every((file) => existsSync(path.join(dir, file)))) ?? null;
}

const pytorchRun = z.object({
  variant: z.enum(PYTORCH_VARIANTS),
  batch: z.number(),
  seconds_per_image: z.number(),
  unet_ms_per_step: z.number(),
  classifier_ms_per_step: z.number(),
  warmup_s: z.number(),
});
const pytorchReport = z.object({
  runs: z.array(pytorchRun),
  flops: z.object({ unet_per_image: z.number(), classifier_gradient_per_image: z.number() }),
  matmul_peak_flops_per_s: z.number(),
  weights: z.object({ folder: z.string(), reused: z.boolean(), unet_relative_error: z.number(), classifier_relative_error: z.number() }).optional(),
});
type PytorchReport = z.infer<typeof pytorchReport>;

interface ReferenceRequest {
  modelDir: string;
  modelId: string;
  batches: number[];
  variants: PytorchVariant[];
  steps: string;
  scale: number;
  threads: number;
}

/** Runs studio_tools.bench.reference once for every batch and variant; its progress and errors go to this process's stderr. */
function pytorchReference(request: ReferenceRequest): Promise<PytorchReport | string> {
  const python = '.venv/bin/python';
  if (!existsSync(python) || !existsSync('models/tools/src/studio_tools/bench/reference.py')) return Promise.resolve('the reference tooling (.venv, studio_tools.bench.reference) is not installed');
  const checkpoints = checkpointWeights(request.modelDir, request.modelId);
  const weights = checkpoints
    ? ['--config', path.join(checkpoints, 'config.json'), '--unet', path.join(checkpoints, 'unet.pt'), '--classifier', path.join(checkpoints, 'classifier.pt')]
    : ['--model-folder', request.modelDir, '--cache', path.join('.cache', 'bench-weights', request.modelId)];
  const args = [
    '-m', 'studio_tools.bench.reference', ...weights,
    '--batch', ...request.batches.map(String), '--variant', ...request.variants,
    '--steps', request.steps, '--scale', String(request.scale), '--threads', String(request.threads), '--flops', '--matmul-peak',
  ];
  return new Promise((resolve) => {
    // Passive OpenMP waiting matches the engine's non-spinning onnxruntime pools; spinning
    // threads on shared cores slow PyTorch by orders of magnitude.
    const child = spawn(python, args, { env: { ...process.env, PYTHONPATH: 'models/tools/src', OMP_WAIT_POLICY: 'PASSIVE' }, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.on('error', (error) => resolve(`the reference could not start: ${error.message}`));
    child.on('close', (code) => {
      if (code !== 0) return resolve(`the reference run exited with code ${code} (its message is above)`);
      const parsed = pytorchReport.safeParse(JSON.parse(stdout.trim().split('\n').at(-1) ?? 'null'));
      resolve(parsed.success ? parsed.data : `the reference printed no report line: ${parsed.error.issues[0]?.message ?? ''}`);
    });
  });
}

interface EngineFigures {
  batch: number;
  threads: number;
  secondsPerImage: number;
  wallMs: number;
  unetMsPerStep: number;
  classifierMsPerStep: number;
  unetCalls: number;
  classifierCalls: number;
  overhead: number;
  lagP99Ms: number;
  lagMaxMs: number;
}

const modelDir = path.resolve(chooseModel());
const manifest = await readManifest(modelDir);
const batches = positiveIntegers(values.batch as string, '--batch');
const variants = (values.variants as string).split(',') as PytorchVariant[];
const unknownVariant = variants.find((variant) => !PYTORCH_VARIANTS.includes(variant));
if (unknownVariant !== undefined) throw new Error(`--variants takes ${PYTORCH_VARIANTS.join(', ')} separated by commas; got "${unknownVariant}".`);
const autoThreads = values.threads === 'auto';
const fixedThreads = autoThreads ? 0 : positiveIntegers(values.threads as string, '--threads')[0] as number;
const threadsFor = (batch: number): number => (autoThreads ? intraOpThreads({ cores: os.availableParallelism(), loadAverage: os.loadavg()[0] ?? 0, batch }) : fixedThreads);
const scale = values.scale ? Number(values.scale) : 4;
const steps = values.steps as string;
const mode: GuidanceMode = manifest.unet.class_cond && manifest.classes.null_class === null ? 'conditional+classifier' : 'unconditional+classifier';

async function timeEngine(batch: number): Promise<EngineFigures> {
  const threads = threadsFor(batch);
  const request: RunRequest = {
    modelId: manifest.id,
    classIndex: 0,
    mode,
    scale,
    sampler: 'ddim',
    steps,
    eta: 0,
    clipDenoised: true,
    seeds: Array.from({ length: batch }, (_, k) => k),
    batchSize: batch,
    provider: 'cpu',
  };
  const engine = createEngine({ modelFolders: [modelDir], threads });
  try {
    await engine.loadModel(manifest.id, 'cpu');
    // One untimed run first: onnxruntime's arenas and kernel choice, and the JIT of the step loop, warm up.
    await engine.sample(request);
    const lag = monitorEventLoopDelay({ resolution: 5 });
    lag.enable();
    const started = performance.now();
    const { timings } = await engine.sample(request, { previewEvery: 1 });
    const wallMs = performance.now() - started;
    lag.disable();
    return {
      batch,
      threads,
      secondsPerImage: wallMs / 1000 / batch,
      wallMs,
      unetMsPerStep: timings.unetMs / Math.max(timings.unetCalls, 1),
      classifierMsPerStep: timings.classifierMs / Math.max(timings.classifierCalls, 1),
      unetCalls: timings.unetCalls,
      classifierCalls: timings.classifierCalls,
      overhead: (wallMs - timings.unetMs - timings.classifierMs) / wallMs,
      lagP99Ms: lag.percentile(99) / 1e6,
      lagMaxMs: lag.max / 1e6,
    };
  } finally {
    await engine.close();
  }
}

const gflops = (flops: number): string => (flops / 1e9).toFixed(3);

console.log(`model: ${manifest.id} (${path.relative(process.cwd(), modelDir) || modelDir}), ${manifest.image.channels}×${manifest.image.size}×${manifest.image.size}; ddim ${steps}, ${mode}, scale ${scale}; load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
const engineFigures: EngineFigures[] = [];
for (const batch of batches) {
  const figures = await timeEngine(batch);
  engineFigures.push(figures);
  console.log(`engine b${batch}: ${figures.secondsPerImage.toFixed(4)} s/image (${(figures.wallMs / 1000).toFixed(2)} s for ${batch}, ${figures.threads} threads); UNet ${figures.unetMsPerStep.toFixed(2)} ms/step, classifier gradient ${figures.classifierMsPerStep.toFixed(2)} ms/step (onnxruntime time, whole batch)`);
  console.log(`engine b${batch}: sampler overhead ${(figures.overhead * 100).toFixed(2)}% of wall time outside onnxruntime; main-thread event-loop lag p99 ${figures.lagP99Ms.toFixed(2)} ms, max ${figures.lagMaxMs.toFixed(2)} ms`);
}
console.log(`engine: peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);

// PyTorch runs on the threads the engine had at the largest batch, so both sides get the same cores.
const pytorchThreads = engineFigures.at(-1)?.threads || os.availableParallelism();
const reference = await pytorchReference({ modelDir, modelId: manifest.id, batches, variants, steps, scale, threads: pytorchThreads });
const result: string[] = [];
let engineVsEager = Number.NaN;
if (typeof reference === 'string') {
  console.log(`pytorch: unavailable (${reference})`);
  for (const figures of engineFigures) result.push(`engine_vs_fastest_pytorch_b${figures.batch}=NaN`);
} else {
  const { weights, flops, matmul_peak_flops_per_s: peak } = reference;
  console.log(weights
    ? `pytorch: weights rebuilt from the ONNX graphs (${weights.reused ? 'cached' : 'just now'}, ${weights.folder}), relative difference to onnxruntime ${weights.unet_relative_error.toExponential(1)} UNet, ${weights.classifier_relative_error.toExponential(1)} classifier gradient; ${pytorchThreads} threads`
    : `pytorch: training checkpoint weights; ${pytorchThreads} threads`);
  for (const run of reference.runs) {
    console.log(`pytorch ${run.variant} b${run.batch}: ${run.seconds_per_image.toFixed(4)} s/image; UNet ${run.unet_ms_per_step.toFixed(2)} ms/step, classifier gradient ${run.classifier_ms_per_step.toFixed(2)} ms/step (untimed warm-up ${run.warmup_s.toFixed(1)} s)`);
  }
  console.log(`flops: UNet ${gflops(flops.unet_per_image)} GFLOP per image per call, classifier gradient ${gflops(flops.classifier_gradient_per_image)} GFLOP (torch.utils.flop_counter)`);
  console.log(`matmul peak: ${gflops(peak)} GFLOP/s float32 (2048² torch.mm, ${pytorchThreads} threads)`);
  for (const figures of engineFigures) {
    const runs = reference.runs.filter((run) => run.batch === figures.batch);
    const fastest = runs.reduce((best, run) => (run.seconds_per_image < best.seconds_per_image ? run : best));
    const ratio = figures.secondsPerImage / fastest.seconds_per_image;
    const eager = runs.find((run) => run.variant === 'eager');
    if (Number.isNaN(engineVsEager) && eager) engineVsEager = figures.secondsPerImage / eager.seconds_per_image;
    const unetRate = (flops.unet_per_image * figures.batch) / (figures.unetMsPerStep / 1000);
    const classifierRate = (flops.classifier_gradient_per_image * figures.batch) / (figures.classifierMsPerStep / 1000);
    const networkSeconds = (figures.unetMsPerStep * figures.unetCalls + figures.classifierMsPerStep * figures.classifierCalls) / 1000;
    const overallRate = (figures.batch * (flops.unet_per_image * figures.unetCalls + flops.classifier_gradient_per_image * figures.classifierCalls)) / networkSeconds;
    console.log(`batch ${figures.batch}: engine_vs_fastest_pytorch=${ratio.toFixed(3)} (fastest: ${fastest.variant}); engine at ${gflops(unetRate)} GFLOP/s in the UNet (${((unetRate / peak) * 100).toFixed(1)}% of the matmul peak), ${gflops(classifierRate)} GFLOP/s in the classifier gradient (${((classifierRate / peak) * 100).toFixed(1)}%), ${((overallRate / peak) * 100).toFixed(1)}% over both`);
    result.push(`engine_vs_fastest_pytorch_b${figures.batch}=${ratio.toFixed(3)}`, `peak_fraction_b${figures.batch}=${(overallRate / peak).toFixed(3)}`);
  }
}
const first = engineFigures[0] as EngineFigures;
result.push(`engine_vs_pytorch=${Number.isNaN(engineVsEager) ? 'NaN' : engineVsEager.toFixed(3)}`, `overhead=${first.overhead.toFixed(4)}`, `loop_lag_p99_ms=${first.lagP99Ms.toFixed(2)}`);

if (values['no-imagenet64'] || process.env.BENCH_NO_IMAGENET64 === '1') {
  console.log('imagenet64 guided step: skipped');
} else {
  const reduced = values['imagenet64-reduced'] as boolean;
  const imagenetBatches = positiveIntegers(values['imagenet64-batch'] as string, '--imagenet64-batch');
  const threads = fixedThreads || pytorchThreads;
  const figures = await benchImagenet64GuidedStep({ cacheDir: reduced ? '.cache/bench-imagenet64-reduced' : '.cache/bench-imagenet64', batches: imagenetBatches, threads, reduced });
  const label = reduced ? 'imagenet64 (reduced width) guided step' : 'imagenet64 guided step';
  if (typeof figures === 'string') console.log(`${label}: unavailable (${figures})`);
  else for (const step of figures) {
    console.log(`${label}: engine ${step.engineSeconds.toFixed(3)} s, pytorch ${step.pytorchSeconds.toFixed(3)} s, ratio ${(step.engineSeconds / step.pytorchSeconds).toFixed(3)} (batch ${step.batch}, ${threads} threads; UNet + classifier gradient in onnxruntime, ${step.engineWallSeconds.toFixed(3)} s wall)`);
  }
}
console.log(`RESULT ${result.join(' ')}`);
