/**
 * One shard drawn and evaluated on this machine: the engine samples its seeds (one run per
 * class, with the evaluation's mode, classifier-free weight and schedule), the images go to model space exactly as the single-machine evaluation reads its
 * stored 8-bit PNGs back (x = pixel / 127.5 − 1), and the evaluator turns them into features
 * and logits, row i for the shard's seed i.
 */
import type { ProviderName, RunRequest } from '../../common/contract/run-request';
import type { Engine } from '../inference';
import type { EvaluatorNetwork, EvaluatorOutputs } from '../inference/evaluator-network';
import type { ShardJob } from './shard-contract';

export interface DrawnShard extends EvaluatorOutputs {
  /** 8-bit pixels of every sample, [count, height, width, channels]; null unless the job asked. */
  pixels: Uint8Array | null;
}

export interface DrawShardOptions {
  provider: ProviderName;
  signal?: AbortSignal;
  /** Called after each finished sample with how many of the shard are done. */
  onSample?(doneSamples: number): void;
}

/** Positions of the shard's seeds by class, in the order the shard lists them. */
function positionsByClass(job: ShardJob): Map<number, number[]> {
  const byClass = new Map<number, number[]>();
  job.classes.forEach((classIndex, position) => {
    const positions = byClass.get(classIndex) ?? [];
    positions.push(position);
    byClass.set(classIndex, positions);
  });
  return byClass;
}

export async function drawShard(engine: Engine, evaluator: EvaluatorNetwork, job: ShardJob, options: DrawShardOptions): Promise<DrawnShard> {
  const { size, channels } = evaluator.manifest.image;
  const plane = size * size;
  const count = job.seeds.length;
  const images = new Float32Array(count * channels * plane);
  const pixels = job.returnImages ? new Uint8Array(count * plane * channels) : null;
  let done = 0;
  for (const [classIndex, positions] of positionsByClass(job)) {
    const request: RunRequest = {
      modelId: job.modelId,
      classIndex,
      mode: job.mode,
      ...(job.cfgScale === undefined ? {} : { cfgScale: job.cfgScale }),
      ...(job.guidanceSchedule === undefined ? {} : { guidanceSchedule: job.guidanceSchedule }),
      scale: job.scale,
      sampler: job.sampler,
      steps: job.steps,
      eta: job.eta,
      clipDenoised: true,
      seeds: positions.map((position) => job.seeds[position]!),
      batchSize: job.batchSize,
      provider: options.provider,
    };
    await engine.sample(request, {
      ...(options.signal ? { signal: options.signal } : {}),
      previewEvery: 0,
      onSample: (sample) => {
        const position = positions[sample.index]!;
        const offset = position * channels * plane;
        for (let pixel = 0; pixel < plane; pixel++) {
          for (let channel = 0; channel < channels; channel++) {
            images[offset + channel * plane + pixel] = sample.pixels[pixel * channels + channel]! / 127.5 - 1;
          }
        }
        pixels?.set(sample.pixels, position * plane * channels);
        options.onSample?.(++done);
      },
    });
  }
  const outputs = await evaluator.evaluate(images, count, options.signal);
  return { ...outputs, pixels };
}
