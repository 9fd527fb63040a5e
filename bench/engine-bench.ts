/**
 * Sampling speed of the engine against the PyTorch reference on the same weights:
 * CPU, 2 threads, batch 16, DDIM 50 steps, classifier-guided.
 *
 *   npm run bench [-- --model <folder> --batch 16 --steps ddim50 --threads 2]
 *                 [--no-imagenet64 | --imagenet64-batch 1,4 | --imagenet64-reduced]
 *
 * Prints seconds per image, onnxruntime time per UNet and classifier-gradient call, the share
 * of time spent outside onnxruntime, peak RSS and the main thread's event-loop lag during the
 * job. Then it times one guided step of the full-size ImageNet 64×64 architecture with random
 * weights against PyTorch (minutes and about 2.5 GB of disk the first time, cached in
 * .cache/bench-imagenet64; skipped with --no-imagenet64 or BENCH_NO_IMAGENET64=1).
 * The last line is `RESULT engine_vs_pytorch=<ratio> overhead=<fraction> loop_lag_p99_ms=<ms>`.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';
import type { GuidanceMode, RunRequest } from '../common/contract/run-request';
import { createEngine } from '../electron/inference';
import { readManifest } from '../electron/inference/model-folder';
import { benchImagenet64GuidedStep } from './imagenet64-step';

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    batch: { type: 'string', default: '16' },
    steps: { type: 'string', default: 'ddim50' },
    threads: { type: 'string', default: '2' },
    scale: { type: 'string' },
    'no-imagenet64': { type: 'boolean', default: false },
    'imagenet64-batch': { type: 'string', default: '1' },
    'imagenet64-reduced': { type: 'boolean', default: false },
  },
});

const MODEL_CANDIDATES = ['models/fashion-mnist', 'test/fixtures/tiny-model', 'test/fixtures/linear-8px'];

function chooseModel(): string {
  if (values.model) return values.model;
  const found = MODEL_CANDIDATES.find((folder) => existsSync(path.join(folder, 'manifest.json')));
  if (found === undefined) throw new Error(`No model to benchmark: none of ${MODEL_CANDIDATES.join(', ')} has a manifest.json.`);
  return found;
}

/** PyTorch weights of the same networks: config.json, unet.pt, classifier.pt. */
function torchWeights(modelDir: string, modelId: string): string | null {
  const candidates = [`${modelDir}-torch`, path.join(modelDir, 'torch'), path.join('checkpoints', modelId, 'torch'), path.join('checkpoints', modelId)];
  return candidates.find((dir) => ['config.json', 'unet.pt', 'classifier.pt'].every((file) => existsSync(path.join(dir, file)))) ?? null;
}

interface PytorchFigures {
  seconds_per_image: number;
  unet_ms_per_step: number;
  classifier_ms_per_step: number;
}

async function pytorchReference(weights: string, batch: number, steps: string, scale: number, threads: number): Promise<PytorchFigures | string> {
  const python = '.venv/bin/python';
  if (!existsSync(python) || !existsSync('models/tools/src/studio_tools/bench/reference.py')) return 'the reference tooling (.venv, studio_tools.bench.reference) is not installed';
  try {
    const { stdout } = await promisify(execFile)(
      python,
      ['-m', 'studio_tools.bench.reference', '--config', path.join(weights, 'config.json'), '--unet', path.join(weights, 'unet.pt'), '--classifier', path.join(weights, 'classifier.pt'), '--batch', String(batch), '--steps', steps, '--scale', String(scale), '--threads', String(threads)],
      // Passive OpenMP waiting matches the engine's non-spinning onnxruntime pools; spinning
      // threads on shared cores slow PyTorch by orders of magnitude.
      { env: { ...process.env, PYTHONPATH: 'models/tools/src', OMP_WAIT_POLICY: 'PASSIVE' }, maxBuffer: 1 << 20 },
    );
    return JSON.parse(stdout.trim().split('\n').at(-1) as string) as PytorchFigures;
  } catch (error) {
    return `the reference run failed: ${(error as Error).message.split('\n')[0]}`;
  }
}

const modelDir = path.resolve(chooseModel());
const manifest = await readManifest(modelDir);
const batch = Number(values.batch);
const threads = Number(values.threads);
const scale = values.scale ? Number(values.scale) : 4;
const mode: GuidanceMode = manifest.unet.class_cond && manifest.classes.null_class === null ? 'conditional+classifier' : 'unconditional+classifier';
const request: RunRequest = {
  modelId: manifest.id,
  classIndex: 0,
  mode,
  scale,
  sampler: 'ddim',
  steps: values.steps as string,
  eta: 0,
  clipDenoised: true,
  seeds: Array.from({ length: batch }, (_, k) => k),
  batchSize: batch,
  provider: 'cpu',
};

let resultLine: string;
const engine = createEngine({ modelFolders: [modelDir], threads });
try {
  const info = await engine.loadModel(manifest.id, 'cpu');
  // One untimed run first: onnxruntime's arenas and kernel choice, and the JIT of the step loop, warm up.
  await engine.sample(request);

  const lag = monitorEventLoopDelay({ resolution: 5 });
  lag.enable();
  const started = performance.now();
  const result = await engine.sample(request, { previewEvery: 1 });
  const wallMs = performance.now() - started;
  lag.disable();

  const { timings } = result;
  const secondsPerImage = wallMs / 1000 / batch;
  const unetMsPerStep = timings.unetMs / Math.max(timings.unetCalls, 1);
  const classifierMsPerStep = timings.classifierMs / Math.max(timings.classifierCalls, 1);
  const overhead = (wallMs - timings.unetMs - timings.classifierMs) / wallMs;
  const lagP99Ms = lag.percentile(99) / 1e6;
  const peakRssMb = process.resourceUsage().maxRSS / 1024;

  console.log(`model: ${manifest.id} (${path.relative(process.cwd(), modelDir) || modelDir}), ${manifest.image.channels}×${manifest.image.size}×${manifest.image.size}, provider ${info.provider}, ${threads} threads`);
  console.log(`run: batch ${batch}, ddim ${request.steps}, ${mode}, scale ${scale}`);
  console.log(`engine: ${secondsPerImage.toFixed(4)} s/image (${(wallMs / 1000).toFixed(2)} s for ${batch})`);
  console.log(`engine: UNet ${unetMsPerStep.toFixed(2)} ms/step, classifier gradient ${classifierMsPerStep.toFixed(2)} ms/step (onnxruntime time, whole batch)`);
  console.log(`engine: sampler overhead ${(overhead * 100).toFixed(2)}% of wall time outside onnxruntime`);
  console.log(`engine: peak RSS ${peakRssMb.toFixed(0)} MB; main-thread event-loop lag p99 ${lagP99Ms.toFixed(2)} ms, max ${(lag.max / 1e6).toFixed(2)} ms`);

  const weights = torchWeights(modelDir, manifest.id);
  const reference = weights === null ? `no PyTorch weights beside ${modelDir}` : await pytorchReference(weights, batch, request.steps, scale, threads);
  let ratio = Number.NaN;
  if (typeof reference === 'string') {
    console.log(`pytorch: unavailable (${reference})`);
  } else {
    ratio = secondsPerImage / reference.seconds_per_image;
    console.log(`pytorch: ${reference.seconds_per_image.toFixed(4)} s/image; UNet ${reference.unet_ms_per_step.toFixed(2)} ms/step, classifier gradient ${reference.classifier_ms_per_step.toFixed(2)} ms/step`);
  }
  resultLine = `RESULT engine_vs_pytorch=${Number.isNaN(ratio) ? 'NaN' : ratio.toFixed(3)} overhead=${overhead.toFixed(4)} loop_lag_p99_ms=${lagP99Ms.toFixed(2)}`;
} finally {
  await engine.close();
}

if (values['no-imagenet64'] || process.env.BENCH_NO_IMAGENET64 === '1') {
  console.log('imagenet64 guided step: skipped');
} else {
  const reduced = values['imagenet64-reduced'] as boolean;
  const batches = (values['imagenet64-batch'] as string).split(',').map(Number);
  if (batches.some((b) => !Number.isInteger(b) || b < 1)) throw new Error(`--imagenet64-batch takes positive integers separated by commas, e.g. 1,4; got "${values['imagenet64-batch']}".`);
  const figures = await benchImagenet64GuidedStep({ cacheDir: reduced ? '.cache/bench-imagenet64-reduced' : '.cache/bench-imagenet64', batches, threads, reduced });
  const label = reduced ? 'imagenet64 (reduced width) guided step' : 'imagenet64 guided step';
  if (typeof figures === 'string') console.log(`${label}: unavailable (${figures})`);
  else for (const step of figures) {
    console.log(`${label}: engine ${step.engineSeconds.toFixed(3)} s, pytorch ${step.pytorchSeconds.toFixed(3)} s, ratio ${(step.engineSeconds / step.pytorchSeconds).toFixed(3)} (batch ${step.batch}, ${threads} threads; UNet + classifier gradient in onnxruntime, ${step.engineWallSeconds.toFixed(3)} s wall)`);
  }
}
console.log(resultLine);
