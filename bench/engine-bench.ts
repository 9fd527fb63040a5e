/**
 * Sampling speed of the engine against PyTorch on the same weights, side by side in one run:
 * CPU, classifier-guided DDIM 50 at batch 16 and 64, the engine and PyTorch eager,
 * channels-last and torch.compile (inductor), all on the same threads.
 *
 *   npm run bench [-- --model <folder> --batch 16,64 --steps ddim50 --threads 2|auto --rounds 3]
 *                 [--variants eager,channels-last,compile]
 *                 [--no-imagenet64 | --imagenet64-batch 1,4 | --imagenet64-reduced]
 *
 * On a shared machine a timing follows the load, so the contenders take turns: PyTorch runs
 * as a long-lived process (studio_tools.bench.reference --serve, see bench/pytorch-reference.ts)
 * and, after every contender's untimed warm-up (torch.compile's compile included), each of
 * --rounds rounds times one sampling run of the engine and of each PyTorch variant, the order
 * rotating from round to round. Each figure is the median over the rounds with its spread
 * (min–max); `engine_vs_fastest_pytorch` is the ratio of the medians, and its spread the range
 * of the rounds' own ratios. The load average is printed at each round. The threads are chosen
 * once per batch (--threads, or the studio's policy with `auto`) and every contender runs on them.
 *
 * torch.compile keeps Inductor's FX graph and AOTAutograd caches in .cache/torchinductor, so a
 * second bench's compile warm-up loads the first's kernels; each warm-up line says whether it hit.
 *
 * The PyTorch weights are the training checkpoints' when they lie beside the model
 * (`<model>-torch`, `<model>/torch`, `checkpoints/<id>/torch`); otherwise they are rebuilt
 * from the model folder's ONNX graphs, checked against onnxruntime (≤ 1e-5 relative) and
 * cached in .cache/bench-weights/<id>, so a fresh clone compares too.
 *
 * Prints per batch the seconds per image of each contender and `engine_vs_fastest_pytorch`;
 * onnxruntime time per UNet and classifier-gradient call, the share of time spent outside
 * onnxruntime, peak RSS and the main thread's event-loop lag; the FLOPs of one UNet call and
 * one classifier-gradient call per image (torch.utils.flop_counter), a float32 matmul peak
 * measured in each round on the same threads and the fraction of it the engine reaches. Then it
 * times one guided step of the full-size ImageNet 64×64 architecture with random weights against
 * PyTorch (minutes and about 2.5 GB of disk the first time, cached in .cache/bench-imagenet64;
 * skipped with --no-imagenet64 or BENCH_NO_IMAGENET64=1).
 * The last line is `RESULT engine_vs_fastest_pytorch_b<batch>=<ratio> engine_vs_fastest_pytorch_b<batch>_spread=<lo>-<hi>
 * … engine_vs_pytorch=<ratio to eager at the first batch> peak_fraction_b<batch>=<fraction> … overhead=<fraction>
 * loop_lag_p99_ms=<ms> rounds=<R>`.
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { GuidanceMode, RunRequest } from '../common/contract/run-request';
import { createEngine } from '../electron/inference';
import { readManifest } from '../electron/inference/model-folder';
import { intraOpThreads } from '../electron/inference/thread-policy';
import { benchImagenet64GuidedStep } from './imagenet64-step';
import { type CacheLookups, type NetworkFlops, PYTORCH_VARIANTS, PytorchReference, type PytorchTiming, type PytorchVariant } from './pytorch-reference';

const COMPILE_CACHE = path.join('.cache', 'torchinductor');

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    batch: { type: 'string', default: '16,64' },
    steps: { type: 'string', default: 'ddim50' },
    threads: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '3' },
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

/** One timed engine.sample of a batch, the way the studio runs it (previews every step). */
interface EngineTiming {
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

function median(numbers: readonly number[]): number {
  const sorted = [...numbers].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** The run whose time is the median (the lower middle one for an even count), for its per-call figures. */
function medianRun<T>(runs: readonly T[], seconds: (run: T) => number): T {
  const sorted = [...runs].sort((a, b) => seconds(a) - seconds(b));
  return sorted[Math.floor((sorted.length - 1) / 2)] as T;
}

function spread(numbers: readonly number[], digits: number): string {
  return `${Math.min(...numbers).toFixed(digits)}–${Math.max(...numbers).toFixed(digits)}`;
}

const loadAverage = (): string => os.loadavg().map((l) => l.toFixed(2)).join(' ');

function describeCache(lookups: CacheLookups): string {
  if (lookups.verdict === 'none') return 'nothing compiled';
  const counts = `FX graphs ${lookups.fx_graph_hits} loaded / ${lookups.fx_graph_misses} compiled, AOTAutograd ${lookups.aot_autograd_hits} loaded / ${lookups.aot_autograd_misses} compiled`;
  const verdict = { hit: 'compile cache hit', miss: 'compile cache miss', partial: 'compile cache partly hit' }[lookups.verdict];
  return `${verdict}: ${counts}, ${COMPILE_CACHE}`;
}

const modelDir = path.resolve(chooseModel());
const manifest = await readManifest(modelDir);
const batches = positiveIntegers(values.batch as string, '--batch');
const rounds = positiveIntegers(values.rounds as string, '--rounds')[0] as number;
const variants = (values.variants as string).split(',') as PytorchVariant[];
const unknownVariant = variants.find((variant) => !PYTORCH_VARIANTS.includes(variant));
if (unknownVariant !== undefined) throw new Error(`--variants takes ${PYTORCH_VARIANTS.join(', ')} separated by commas; got "${unknownVariant}".`);
const autoThreads = values.threads === 'auto';
const fixedThreads = autoThreads ? 0 : positiveIntegers(values.threads as string, '--threads')[0] as number;
const threadsFor = (batch: number): number => (autoThreads ? intraOpThreads({ cores: os.availableParallelism(), loadAverage: os.loadavg()[0] ?? 0, batch }) : fixedThreads);
const scale = values.scale ? Number(values.scale) : 4;
const steps = values.steps as string;
const mode: GuidanceMode = manifest.unet.class_cond && manifest.classes.null_class === null ? 'conditional+classifier' : 'unconditional+classifier';

function runRequest(batch: number): RunRequest {
  return {
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
}

type Engine = ReturnType<typeof createEngine>;

async function timeEngine(engine: Engine, batch: number): Promise<EngineTiming> {
  const lag = monitorEventLoopDelay({ resolution: 5 });
  lag.enable();
  const started = performance.now();
  const { timings } = await engine.sample(runRequest(batch), { previewEvery: 1 });
  const wallMs = performance.now() - started;
  lag.disable();
  return {
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
}

type Contender = 'engine' | PytorchVariant;

interface BatchFigures {
  batch: number;
  threads: number;
  engine: EngineTiming[];
  pytorch: Map<PytorchVariant, PytorchTiming[]>;
  matmulPeaks: number[];
}

/** Warms every contender up at `batch`, then times them in turns for the rounds. */
async function benchBatch(batch: number, reference: PytorchReference | null): Promise<BatchFigures> {
  const threads = threadsFor(batch);
  const engine = createEngine({ modelFolders: [modelDir], threads });
  const figures: BatchFigures = { batch, threads, engine: [], pytorch: new Map(), matmulPeaks: [] };
  try {
    await engine.loadModel(manifest.id, 'cpu');
    // Untimed: onnxruntime's arenas and kernel choice, and the JIT of the step loop, warm up.
    const warmStarted = performance.now();
    await engine.sample(runRequest(batch));
    console.log(`engine b${batch}: warm-up ${((performance.now() - warmStarted) / 1000).toFixed(1)} s (one untimed run, ${threads} threads)`);
    const pytorchVariants = reference ? variants : [];
    for (const variant of pytorchVariants) {
      const warm = await (reference as PytorchReference).warmUp(variant, batch, threads);
      console.log(`pytorch ${variant} b${batch}: warm-up ${warm.warmup_s.toFixed(1)} s (untimed ${warm.steps}-step run, ${warm.threads} threads; ${describeCache(warm.compile_cache)})`);
      figures.pytorch.set(variant, []);
    }
    const contenders: Contender[] = ['engine', ...pytorchVariants];
    for (let round = 0; round < rounds; round++) {
      const load = loadAverage();
      // Rotating the order keeps any contender from always running right after another one.
      const order = contenders.map((_, k) => contenders[(k + round) % contenders.length] as Contender);
      const parts: string[] = [];
      for (const contender of order) {
        if (contender === 'engine') {
          const run = await timeEngine(engine, batch);
          figures.engine.push(run);
          parts.push(`engine ${run.secondsPerImage.toFixed(4)} (${threads} threads)`);
        } else {
          const run = await (reference as PytorchReference).time(contender, batch, threads);
          figures.pytorch.get(contender)?.push(run);
          parts.push(`${contender} ${run.seconds_per_image.toFixed(4)} (${run.threads} threads)`);
        }
      }
      let peak = '';
      if (reference) {
        const measured = await reference.matmulPeak(threads);
        figures.matmulPeaks.push(measured.flops_per_s);
        peak = `; matmul peak ${gflops(measured.flops_per_s)} GFLOP/s`;
      }
      console.log(`b${batch} round ${round + 1}/${rounds} (load average ${load}): ${parts.join(', ')} s/image${peak}`);
    }
  } finally {
    await engine.close();
  }
  return figures;
}

const gflops = (flops: number): string => (flops / 1e9).toFixed(3);

console.log(`model: ${manifest.id} (${path.relative(process.cwd(), modelDir) || modelDir}), ${manifest.image.channels}×${manifest.image.size}×${manifest.image.size}; ddim ${steps}, ${mode}, scale ${scale}; ${rounds} rounds; load average ${loadAverage()}`);
const firstThreads = threadsFor(batches[0] as number);
const reference = await PytorchReference.start({ modelDir, modelId: manifest.id, steps, scale, threads: firstThreads, compileCache: COMPILE_CACHE });
let networkFlops: NetworkFlops | null = null;
const allFigures: BatchFigures[] = [];
try {
  if (typeof reference === 'string') console.log(`pytorch: unavailable (${reference})`);
  else {
    const { weights } = reference.about;
    console.log(weights
      ? `pytorch ${reference.about.torch}: weights rebuilt from the ONNX graphs (${weights.reused ? 'cached' : 'just now'}, ${weights.folder}), relative difference to onnxruntime ${weights.unet_relative_error.toExponential(1)} UNet, ${weights.classifier_relative_error.toExponential(1)} classifier gradient`
      : `pytorch ${reference.about.torch}: training checkpoint weights`);
    networkFlops = await reference.flops();
  }
  for (const batch of batches) allFigures.push(await benchBatch(batch, typeof reference === 'string' ? null : reference));
} finally {
  if (typeof reference !== 'string') await reference.close();
}
console.log(`engine: peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB; load average ${loadAverage()}`);

const result: string[] = [];
let engineVsEager = Number.NaN;
if (networkFlops) console.log(`flops: UNet ${gflops(networkFlops.unet_per_image)} GFLOP per image per call, classifier gradient ${gflops(networkFlops.classifier_gradient_per_image)} GFLOP (torch.utils.flop_counter)`);
for (const figures of allFigures) {
  const { batch, threads } = figures;
  const engineSeconds = figures.engine.map((run) => run.secondsPerImage);
  const engineMedian = median(engineSeconds);
  const typical = medianRun(figures.engine, (run) => run.secondsPerImage);
  console.log(`engine b${batch}: ${engineMedian.toFixed(4)} s/image median of ${rounds} (${spread(engineSeconds, 4)}; ${threads} threads); UNet ${typical.unetMsPerStep.toFixed(2)} ms/step, classifier gradient ${typical.classifierMsPerStep.toFixed(2)} ms/step (onnxruntime time, whole batch, median run)`);
  console.log(`engine b${batch}: sampler overhead ${(typical.overhead * 100).toFixed(2)}% of wall time outside onnxruntime; main-thread event-loop lag p99 ${typical.lagP99Ms.toFixed(2)} ms, max ${typical.lagMaxMs.toFixed(2)} ms`);
  if (figures.pytorch.size === 0 || networkFlops === null) {
    result.push(`engine_vs_fastest_pytorch_b${batch}=NaN`);
    continue;
  }
  const medians = new Map<PytorchVariant, number>();
  for (const [variant, runs] of figures.pytorch) {
    const seconds = runs.map((run) => run.seconds_per_image);
    medians.set(variant, median(seconds));
    const run = medianRun(runs, (r) => r.seconds_per_image);
    console.log(`pytorch ${variant} b${batch}: ${median(seconds).toFixed(4)} s/image median of ${rounds} (${spread(seconds, 4)}; ${run.threads} threads); UNet ${run.unet_ms_per_step.toFixed(2)} ms/step, classifier gradient ${run.classifier_ms_per_step.toFixed(2)} ms/step (median run)`);
  }
  const [fastest, fastestMedian] = [...medians].reduce((best, entry) => (entry[1] < best[1] ? entry : best));
  const ratio = engineMedian / fastestMedian;
  const fastestRuns = figures.pytorch.get(fastest) as PytorchTiming[];
  const roundRatios = figures.engine.map((run, round) => run.secondsPerImage / (fastestRuns[round] as PytorchTiming).seconds_per_image);
  const eager = medians.get('eager');
  if (Number.isNaN(engineVsEager) && eager !== undefined) engineVsEager = engineMedian / eager;
  const peak = median(figures.matmulPeaks);
  const unetRate = (networkFlops.unet_per_image * batch) / (typical.unetMsPerStep / 1000);
  const classifierRate = (networkFlops.classifier_gradient_per_image * batch) / (typical.classifierMsPerStep / 1000);
  const networkSeconds = (typical.unetMsPerStep * typical.unetCalls + typical.classifierMsPerStep * typical.classifierCalls) / 1000;
  const overallRate = (batch * (networkFlops.unet_per_image * typical.unetCalls + networkFlops.classifier_gradient_per_image * typical.classifierCalls)) / networkSeconds;
  console.log(`matmul peak b${batch}: ${gflops(peak)} GFLOP/s float32 median of ${rounds} (${spread(figures.matmulPeaks.map((p) => p / 1e9), 3)}; 2048² torch.mm, ${threads} threads)`);
  console.log(`batch ${batch}: engine_vs_fastest_pytorch=${ratio.toFixed(3)} (ratio of medians; fastest: ${fastest}; the rounds' own ratios ${spread(roundRatios, 3)}); engine at ${gflops(unetRate)} GFLOP/s in the UNet (${((unetRate / peak) * 100).toFixed(1)}% of the matmul peak), ${gflops(classifierRate)} GFLOP/s in the classifier gradient (${((classifierRate / peak) * 100).toFixed(1)}%), ${((overallRate / peak) * 100).toFixed(1)}% over both`);
  result.push(
    `engine_vs_fastest_pytorch_b${batch}=${ratio.toFixed(3)}`,
    `engine_vs_fastest_pytorch_b${batch}_spread=${spread(roundRatios, 3).replace('–', '-')}`,
    `peak_fraction_b${batch}=${(overallRate / peak).toFixed(3)}`,
  );
}
const first = medianRun((allFigures[0] as BatchFigures).engine, (run) => run.secondsPerImage);
result.push(`engine_vs_pytorch=${Number.isNaN(engineVsEager) ? 'NaN' : engineVsEager.toFixed(3)}`, `overhead=${first.overhead.toFixed(4)}`, `loop_lag_p99_ms=${first.lagP99Ms.toFixed(2)}`, `rounds=${rounds}`);

// PyTorch ran on the threads the engine had at the largest batch, so the step below uses those too.
const pytorchThreads = allFigures.at(-1)?.threads || os.availableParallelism();
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
