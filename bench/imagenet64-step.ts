/**
 * One classifier-guided step of the full-size ImageNet 64×64 architecture (random weights):
 * the engine on CPU against PyTorch on the same weights.
 *
 * `python -m studio_tools.bench.imagenet64` builds the networks, exports them once into a cache
 * folder (about 2.5 GB, reused while its hashes match) and times PyTorch; the engine then loads
 * that model folder and times one DDIM step (UNet + classifier gradient) per batch size.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { z } from 'zod';
import type { RunRequest } from '../common/contract/run-request';
import { createEngine } from '../electron/inference';
import { readManifest } from '../electron/inference/model-folder';

const PYTHON = '.venv/bin/python';

/** Narrow networks with the same levels and attention, for checking the benchmark itself quickly. */
export const REDUCED_ARCHITECTURE = ['--width', '32', '--classifier-width', '64', '--depth', '1'];

const pytorchReport = z.object({
  model_folder: z.string(),
  reused: z.boolean(),
  prepare_s: z.number(),
  unet_parameters: z.number(),
  classifier_parameters: z.number(),
  steps: z.array(z.object({ batch: z.number(), unet_s: z.number(), classifier_s: z.number(), step_s: z.number() })),
});
type PytorchReport = z.infer<typeof pytorchReport>;

export interface GuidedStepOptions {
  cacheDir: string;
  batches: number[];
  threads: number;
  reduced: boolean;
}

export interface GuidedStepFigures {
  batch: number;
  engineSeconds: number;
  engineWallSeconds: number;
  pytorchSeconds: number;
}

/** Runs the Python side; its progress (export) goes to this process's stderr. */
function runPytorchSide(options: GuidedStepOptions): Promise<PytorchReport> {
  const args = ['-m', 'studio_tools.bench.imagenet64', '--cache', options.cacheDir, '--threads', String(options.threads), '--batch', ...options.batches.map(String), ...(options.reduced ? REDUCED_ARCHITECTURE : [])];
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, args, {
      // Passive OpenMP waiting, as for the reference sampler: spinning threads on shared cores distort PyTorch's time.
      env: { ...process.env, PYTHONPATH: 'models/tools/src', OMP_WAIT_POLICY: 'PASSIVE' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`studio_tools.bench.imagenet64 exited with code ${code}`));
      try {
        resolve(pytorchReport.parse(JSON.parse(stdout.trim().split('\n').at(-1) ?? '')));
      } catch (error) {
        reject(new Error(`studio_tools.bench.imagenet64 printed no report line: ${(error as Error).message.split('\n')[0]}`));
      }
    });
  });
}

export async function benchImagenet64GuidedStep(options: GuidedStepOptions): Promise<GuidedStepFigures[] | string> {
  if (!existsSync(PYTHON)) return 'the model tooling (.venv) is not installed';
  const reference = await runPytorchSide(options);
  console.log(`imagenet64: ${(reference.unet_parameters / 1e6).toFixed(1)} M-parameter UNet, ${(reference.classifier_parameters / 1e6).toFixed(1)} M-parameter classifier, model folder ${reference.reused ? 'reused' : `built in ${reference.prepare_s.toFixed(0)} s`} (${reference.model_folder})`);

  const manifest = await readManifest(reference.model_folder);
  const engine = createEngine({ modelFolders: [reference.model_folder], threads: options.threads });
  const figures: GuidedStepFigures[] = [];
  try {
    await engine.loadModel(manifest.id, 'cpu');
    for (const step of reference.steps) {
      const request: RunRequest = {
        modelId: manifest.id,
        classIndex: 207,
        mode: 'conditional+classifier',
        scale: manifest.defaults.scale,
        sampler: 'ddim',
        // One step: one UNet call and one classifier-gradient call for the whole batch.
        steps: '1',
        eta: 0,
        clipDenoised: true,
        seeds: Array.from({ length: step.batch }, (_, k) => k),
        batchSize: step.batch,
        provider: 'cpu',
      };
      // Untimed first step, as on the PyTorch side: arenas and kernel choice warm up.
      await engine.sample(request, { previewEvery: 0 });
      const started = performance.now();
      const { timings } = await engine.sample(request, { previewEvery: 0 });
      figures.push({
        batch: step.batch,
        engineSeconds: (timings.unetMs + timings.classifierMs) / 1000,
        engineWallSeconds: (performance.now() - started) / 1000,
        pytorchSeconds: step.step_s,
      });
    }
  } finally {
    await engine.close();
  }
  return figures;
}
