/**
 * What recording a trajectory costs: the same classifier-guided run drawn and stored in a gallery
 * without and with its trajectory, on the built-in model at batch 16, DDIM 50 and DDPM 1000.
 *
 *   npm run bench:trajectory [-- --model models/fashion-mnist --batch 16 --runs ddim50,1000 --threads 2 --repeats 2]
 *
 * Runs without and with the trajectory alternate, `repeats` of each, and the fastest of each is
 * compared, so load from other processes on shared cores weighs on both alike. Beside the wall time
 * it compares the worker's time outside onnxruntime (where the recorder runs), which other load
 * disturbs less.
 *
 * Per run it prints the wall time of sampling and storing every sample, with and without the
 * trajectory, and the overhead fraction; the main thread's storing time; what encoding every step
 * as PNG while sampling (the gallery's former layout) would add, measured on the same steps; the
 * cost of one step's PNG made when the viewer asks; and the bytes a sample's steps take.
 * The last line is `RESULT trajectory_overhead_<run>=<fraction> …`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { GuidanceMode, RunRequest } from '../common/contract/run-request';
import { newSampleFrom, openGallery, type Gallery } from '../electron/gallery';
import { createEngine } from '../electron/inference';
import { readManifest } from '../electron/inference/model-folder';
import type { SampleResult } from '../electron/inference/types';
import { encodePng, imageFromTensor } from '../electron/png/image';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'models/fashion-mnist' },
    batch: { type: 'string', default: '16' },
    runs: { type: 'string', default: 'ddim50,1000' },
    threads: { type: 'string', default: '2' },
    scale: { type: 'string', default: '4' },
    repeats: { type: 'string', default: '2' },
  },
});

const modelDir = path.resolve(values.model as string);
const manifest = await readManifest(modelDir);
const batch = Number(values.batch);
const threads = Number(values.threads);
const mode: GuidanceMode = manifest.unet.class_cond && manifest.classes.null_class === null ? 'conditional+classifier' : 'unconditional+classifier';
const { channels, size } = manifest.image;
const perSample = channels * size * size;

interface Timed {
  wallMs: number;
  /** The worker's job time outside the UNet and classifier calls. */
  outsideNetworksMs: number;
  /** Main-thread time spent turning samples into gallery rows and writing them. */
  storeMs: number;
  samples: SampleResult[];
  sampleIds: number[];
}

function requestFor(steps: string): RunRequest {
  return {
    modelId: manifest.id,
    classIndex: 0,
    mode,
    scale: Number(values.scale),
    // A plain spacing is DDPM's; DDIM takes its ddimN form.
    sampler: steps.startsWith('ddim') ? 'ddim' : 'ddpm',
    steps,
    eta: 0,
    clipDenoised: true,
    seeds: Array.from({ length: batch }, (_, k) => k),
    batchSize: batch,
    provider: 'cpu',
  };
}

async function drawAndStore(engine: ReturnType<typeof createEngine>, gallery: Gallery, request: RunRequest, trajectory: boolean): Promise<Timed> {
  const run = gallery.runs.start({ request, provider: 'cpu', noiseAlgorithm: 'benchmark', appVersion: 'benchmark' });
  let storeMs = 0;
  const sampleIds: number[] = [];
  const started = performance.now();
  const result = await engine.sample(request, {
    trajectory,
    previewEvery: 1,
    onSample: (sample) => {
      const storing = performance.now();
      sampleIds.push(gallery.samples.add(run.id, newSampleFrom(sample)).id);
      storeMs += performance.now() - storing;
    },
  });
  const wallMs = performance.now() - started;
  gallery.runs.end(run.id, 'completed');
  const { totalMs, unetMs, classifierMs } = result.timings;
  return { wallMs, outsideNetworksMs: totalMs - unetMs - classifierMs, storeMs, samples: result.samples, sampleIds };
}

/** What the gallery's former layout spent: every step's xₜ and x̂₀ encoded as PNG when the sample arrived. */
function formerEncodingMs(samples: readonly SampleResult[]): number {
  const started = performance.now();
  for (const sample of samples) {
    const recorded = sample.trajectory;
    if (recorded === undefined) continue;
    for (let step = 0; step < recorded.t.length; step++) {
      for (const tensor of [recorded.xt, recorded.predX0]) encodePng(imageFromTensor(tensor.subarray(step * perSample, (step + 1) * perSample), channels, size, size));
    }
  }
  return performance.now() - started;
}

/** One step's PNG as the viewer gets it, averaged over every step of a sample (xₜ and x̂₀). */
function lazyPngMs(gallery: Gallery, sampleId: number): number {
  const steps = gallery.trajectories.steps(sampleId);
  const started = performance.now();
  for (const step of steps) {
    gallery.trajectories.image(sampleId, step.index, 'xt');
    gallery.trajectories.image(sampleId, step.index, 'x0');
  }
  return (performance.now() - started) / (2 * steps.length);
}

/** The evaluator on every recorded x̂₀ of one sample, as "Ask the evaluator" runs it: the cost of doing so at the end of every run. */
async function evaluatorMsPerSample(engine: ReturnType<typeof createEngine>, gallery: Gallery, sampleId: number): Promise<number | null> {
  if (manifest.evaluator === null) return null;
  const steps = gallery.trajectories.steps(sampleId);
  const images = new Float32Array(steps.length * perSample);
  steps.forEach((step, position) => images.set(gallery.trajectories.tensor(sampleId, step.index, 'x0', channels)!, position * perSample));
  const evaluator = await engine.openEvaluator(modelDir, { provider: 'cpu' });
  try {
    await evaluator.evaluate(images.subarray(0, perSample), 1);
    const started = performance.now();
    await evaluator.evaluate(images, steps.length);
    return performance.now() - started;
  } finally {
    await evaluator.release();
  }
}

/** Bytes of a sample's stored steps, and what their PNGs would take. */
function stepBytes(gallery: Gallery, sampleId: number): { compact: number; png: number } {
  let png = 0;
  for (const step of gallery.trajectories.steps(sampleId)) png += gallery.trajectories.image(sampleId, step.index, 'xt')!.byteLength + gallery.trajectories.image(sampleId, step.index, 'x0')!.byteLength;
  const steps = gallery.trajectories.steps(sampleId).length;
  const heat = gallery.trajectories.heat(sampleId, 0)?.byteLength ?? 0;
  return { compact: steps * (perSample * Float32Array.BYTES_PER_ELEMENT + perSample + heat), png };
}

const dataDir = mkdtempSync(path.join(tmpdir(), 'gds-trajectory-bench-'));
const gallery = openGallery(path.join(dataDir, 'gallery.sqlite'));
gallery.models.register(manifest, '0'.repeat(64));
const engine = createEngine({ modelFolders: [modelDir], threads });
const results: string[] = [];
try {
  const info = await engine.loadModel(manifest.id, 'cpu');
  console.log(`model: ${manifest.id}, ${channels}×${size}×${size}, provider ${info.provider}, ${threads} threads, batch ${batch}, ${mode}, scale ${values.scale}`);
  for (const steps of (values.runs as string).split(',')) {
    const request = requestFor(steps);
    // One untimed run first: onnxruntime's arenas and the step loop's JIT warm up.
    await engine.sample({ ...request, seeds: request.seeds.slice(0, Math.min(4, batch)), batchSize: Math.min(4, batch) });
    const fastest = (runs: Timed[]): Timed => runs.reduce((best, run) => (run.wallMs < best.wallMs ? run : best));
    const withoutRuns: Timed[] = [];
    const withRuns: Timed[] = [];
    for (let repeat = 0; repeat < Number(values.repeats); repeat++) {
      withoutRuns.push(await drawAndStore(engine, gallery, request, false));
      withRuns.push(await drawAndStore(engine, gallery, request, true));
    }
    const without = fastest(withoutRuns);
    const withTrajectory = fastest(withRuns);
    const outsideOverhead = (withTrajectory.outsideNetworksMs + withTrajectory.storeMs - without.outsideNetworksMs - without.storeMs) / without.wallMs;
    const overhead = (withTrajectory.wallMs - without.wallMs) / without.wallMs;
    const former = formerEncodingMs(withTrajectory.samples);
    const recordedSteps = withTrajectory.samples[0]?.trajectory?.t.length ?? 0;
    const firstId = withTrajectory.sampleIds[0] as number;
    const bytes = stepBytes(gallery, firstId);
    console.log(`\n${request.sampler} ${steps}: ${recordedSteps} steps recorded per sample`);
    console.log(`  sampling + storing, no trajectory:   ${(without.wallMs / 1000).toFixed(2)} s (storing ${without.storeMs.toFixed(0)} ms on the main thread)`);
    console.log(`  sampling + storing, with trajectory: ${(withTrajectory.wallMs / 1000).toFixed(2)} s (storing ${withTrajectory.storeMs.toFixed(0)} ms on the main thread)`);
    console.log(`  overhead of recording: ${(overhead * 100).toFixed(1)} % of the wall time (fastest of ${values.repeats} each; all runs: ${withoutRuns.map((run) => (run.wallMs / 1000).toFixed(1)).join(', ')} s without, ${withRuns.map((run) => (run.wallMs / 1000).toFixed(1)).join(', ')} s with)`);
    console.log(`  worker time outside the networks plus storing: ${(without.outsideNetworksMs + without.storeMs).toFixed(0)} ms without, ${(withTrajectory.outsideNetworksMs + withTrajectory.storeMs).toFixed(0)} ms with: ${(outsideOverhead * 100).toFixed(1)} % of sampling`);
    console.log(`  every step encoded as PNG (the former layout) would add ${former.toFixed(0)} ms (${(former / batch).toFixed(1)} ms a sample, ${((former / without.wallMs) * 100).toFixed(1)} % of sampling)`);
    console.log(`  one step's PNG made when viewed: ${(lazyPngMs(gallery, firstId) * 1000).toFixed(0)} µs`);
    console.log(`  a sample's steps take ${(bytes.compact / 1024).toFixed(0)} KiB compact (float32 xₜ, 8-bit x̂₀ and heatmap); their PNGs ${(bytes.png / 1024).toFixed(0)} KiB`);
    const evaluatorMs = await evaluatorMsPerSample(engine, gallery, firstId);
    if (evaluatorMs !== null) {
      console.log(`  the evaluator on every recorded x̂₀ of one sample: ${evaluatorMs.toFixed(0)} ms (${((evaluatorMs * batch) / without.wallMs * 100).toFixed(1)} % of sampling if run for every sample)`);
    }
    results.push(`trajectory_overhead_${steps}=${overhead.toFixed(3)} recording_work_${steps}=${outsideOverhead.toFixed(3)} former_png_overhead_${steps}=${(former / without.wallMs).toFixed(3)}`);
  }
} finally {
  await engine.close();
  gallery.close();
  rmSync(dataDir, { recursive: true, force: true });
}
console.log(`\nRESULT ${results.join(' ')}`);
