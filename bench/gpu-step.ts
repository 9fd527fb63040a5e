/**
 * One classifier-guided step on a CUDA GPU: the engine (onnxruntime-node's CUDA provider, and
 * WebGPU with the device sampling path where an adapter exists) against PyTorch eager and
 * torch.compile, float32 and float16, on the full-size ImageNet 64×64 architecture with random
 * weights at batch 1, 16 and 64, and the 256×256 one at batch 4; each row with its achieved
 * FLOP rate as a share of the GPU's own large-matrix-product rate.
 *
 *   npx tsx bench/gpu-step.ts [--batch 1,16,64] [--repeats 10] [--no-compile]
 *
 * On a machine without CUDA (for PyTorch and for onnxruntime-node) it prints
 * `unavailable: <reason>` and exits 0. The engine side needs onnxruntime-node's CUDA add-on
 * (README, "GPUs") and builds the engine's model folder once through
 * `python -m studio_tools bench-imagenet64` (about 2.5 GB in .cache/bench-imagenet64).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { z } from 'zod';
import type { ProviderName, RunRequest } from '../common/contract/run-request';
import { createEngine } from '../electron/inference';
import { readManifest } from '../electron/inference/model-folder';
import { readBackGraphFile, sourceStepGraphsDir } from '../electron/inference/step-graph-files';

// Providers this machine lacks are reported in the table; keep onnxruntime's own log quiet.
ort.env.logLevel = 'fatal';

const PYTHON = '.venv/bin/python';
const CACHE = '.cache/bench-imagenet64';

const row = z.object({ preset: z.string(), batch: z.number(), precision: z.string(), mode: z.string() });
const pytorchReport = z.union([
  z.object({ unavailable: z.string() }),
  z.object({
    device: z.string(),
    torch: z.string(),
    gemm_tflops: z.record(z.string(), z.number()),
    rows: z.array(z.union([row.extend({ step_s: z.number(), tflops: z.number(), share_of_gemm: z.number() }), row.extend({ unavailable: z.string() })])),
  }),
]);
const modelFolderReport = z.object({ model_folder: z.string() });

function runPython(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, args, { env: { ...process.env, PYTHONPATH: 'models/tools/src' }, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(stdout.trim().split('\n').at(-1) ?? '') : reject(new Error(`${args.join(' ')} exited with code ${code}`))));
  });
}

/** Why onnxruntime-node cannot open a session on `provider` here, or null when it can. */
async function providerUnavailable(provider: 'cuda' | 'webgpu'): Promise<string | null> {
  try {
    const session = await ort.InferenceSession.create(await readFile(readBackGraphFile(sourceStepGraphsDir())), { executionProviders: [provider], logSeverityLevel: 4 });
    await session.release();
    return null;
  } catch (error) {
    return `onnxruntime-node has no ${provider.toUpperCase()} provider here: ${String((error as Error).message).split('\n')[0]}`;
  }
}

interface EngineRow {
  provider: ProviderName;
  batch: number;
  stepSeconds: number;
}

/** Seconds of one guided DDIM step (one UNet call and one classifier gradient) per batch, after an untimed one. */
async function timeEngine(modelFolder: string, provider: 'cuda' | 'webgpu', batches: number[], repeats: number): Promise<EngineRow[]> {
  const manifest = await readManifest(modelFolder);
  const engine = createEngine({ modelFolders: [modelFolder], unetPrecision: 'fp32' });
  const rows: EngineRow[] = [];
  try {
    const info = await engine.loadModel(manifest.id, provider);
    if (info.provider !== provider) throw new Error(`the engine fell back to ${info.provider}: ${info.fallbacks.map((attempt) => attempt.error).join('; ')}`);
    for (const batch of batches) {
      const request: RunRequest = {
        modelId: manifest.id,
        classIndex: 207,
        mode: 'conditional+classifier',
        scale: manifest.defaults.scale,
        sampler: 'ddim',
        steps: '1',
        eta: 0,
        clipDenoised: true,
        seeds: Array.from({ length: batch }, (_, k) => k),
        batchSize: batch,
        provider,
      };
      await engine.sample(request, { previewEvery: 0 });
      const seconds: number[] = [];
      for (let repeat = 0; repeat < repeats; repeat++) {
        const started = performance.now();
        await engine.sample(request, { previewEvery: 0 });
        seconds.push((performance.now() - started) / 1000);
      }
      seconds.sort((a, b) => a - b);
      rows.push({ provider, batch, stepSeconds: seconds[Math.floor(seconds.length / 2)] as number });
    }
  } finally {
    await engine.close();
  }
  return rows;
}

const { values } = parseArgs({
  options: {
    batch: { type: 'string', default: '1,16,64' },
    repeats: { type: 'string', default: '10' },
    'no-compile': { type: 'boolean', default: false },
  },
});
const batches = (values.batch as string).split(',').map(Number);
const repeats = Number(values.repeats);
if (batches.some((batch) => !(Number.isInteger(batch) && batch > 0)) || !(Number.isInteger(repeats) && repeats > 0)) {
  console.error('gpu-step: --batch takes positive integers separated by commas (1,16,64), --repeats a positive integer.');
  process.exit(2);
}

if (!existsSync(PYTHON)) {
  console.log('unavailable: the model tooling (.venv) is not installed');
  process.exit(0);
}
const pytorch = pytorchReport.parse(JSON.parse(await runPython(['-m', 'studio_tools.bench.gpu_step', '--batch', ...batches.map(String), '--repeats', String(repeats), ...(values['no-compile'] ? ['--no-compile'] : [])])));
const cudaProblem = await providerUnavailable('cuda');
if ('unavailable' in pytorch && cudaProblem !== null) {
  console.log(`unavailable: ${pytorch.unavailable}; ${cudaProblem}`);
  process.exit(0);
}

if ('unavailable' in pytorch) {
  console.log(`PyTorch: unavailable: ${pytorch.unavailable}`);
} else {
  console.log(`PyTorch ${pytorch.torch} on ${pytorch.device}; large matrix product: ${Object.entries(pytorch.gemm_tflops).map(([precision, tflops]) => `${precision} ${tflops.toFixed(1)} TFLOP/s`).join(', ')}`);
  for (const entry of pytorch.rows) {
    const label = `  ${entry.preset}×${entry.preset} batch ${entry.batch} ${entry.precision} ${entry.mode}`;
    console.log('unavailable' in entry ? `${label}: unavailable: ${entry.unavailable}` : `${label}: ${(entry.step_s * 1000).toFixed(2)} ms/step, ${entry.tflops.toFixed(2)} TFLOP/s, ${(entry.share_of_gemm * 100).toFixed(1)} % of the matrix-product rate`);
  }
}

const modelFolder = modelFolderReport.parse(JSON.parse(await runPython(['-m', 'studio_tools.bench.imagenet64', '--cache', CACHE, '--batch', '1', '--threads', '1']))).model_folder;
for (const provider of ['cuda', 'webgpu'] as const) {
  const problem = provider === 'cuda' ? cudaProblem : await providerUnavailable(provider);
  if (problem !== null) {
    console.log(`engine on ${provider.toUpperCase()}: unavailable: ${problem}`);
    continue;
  }
  try {
    for (const result of await timeEngine(modelFolder, provider, batches, repeats)) {
      console.log(`  engine 64×64 batch ${result.batch} fp32 ${result.provider}: ${(result.stepSeconds * 1000).toFixed(2)} ms/step (the whole sample call, the worker's messages included)`);
    }
  } catch (error) {
    console.log(`engine on ${provider.toUpperCase()}: unavailable: ${(error as Error).message.split('\n')[0]}`);
  }
}
