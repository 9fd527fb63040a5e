/**
 * The evaluator's outputs of an evaluation as shards bring them in, kept by (scale, seed): a
 * shard that two workers both finished, or a result that arrives again after a Redis restart,
 * adds nothing the second time. Merged in drawing order (sample i, with seed seedOffset + i and
 * class classes[i mod #classes], in row i), as the single-machine evaluation scores them, so the
 * figures match it exactly and the Inception Score's splits follow the order samples were drawn.
 */
import type { EvaluationSpec } from '../../common/contract/evaluation';
import type { FeatureMatrix } from '../metrics/dense-matrix';
import { float32FromBase64 } from './float32-base64';
import { scheduleText } from '../../common/contract/guidance-schedule-text';
import type { ShardJob, ShardResult } from './shard-contract';

type GuidanceSettings = Pick<ShardJob, 'cfgScale' | 'guidanceSchedule'>;

/** The classifier-free weight and the schedule as a sentence names them: "w = 2, schedule interval:200-800". */
function guidanceWords({ cfgScale, guidanceSchedule }: GuidanceSettings): string {
  const words = [cfgScale === undefined ? 'no classifier-free weight' : `w = ${cfgScale}`, guidanceSchedule === undefined ? 'no schedule' : `schedule ${scheduleText(guidanceSchedule)}`];
  return words.join(', ');
}

interface SeedOutputs {
  features: Float32Array;
  logits: Float32Array;
  pixels: Uint8Array | null;
}

export interface MergedOutputs {
  features: FeatureMatrix;
  logits: FeatureMatrix;
  classIndices: Int32Array;
  /** The seed of each row. */
  seeds: number[];
}

export class ShardResults {
  private readonly byScale: Map<number, SeedOutputs>[];
  private dimensions: { features: number; logits: number } | null = null;

  constructor(private readonly spec: EvaluationSpec) {
    this.byScale = spec.scales.map(() => new Map());
  }

  /**
   * Takes a finished shard's outputs; returns how many of its seeds were new. A result that
   * does not answer its job (other seeds, other sizes) is an error, not silently merged.
   */
  add(scaleIndex: number, job: ShardJob, result: ShardResult, pixelsPerSample: number): number {
    if (result.seeds.length !== job.seeds.length || result.seeds.some((seed, index) => seed !== job.seeds[index])) {
      throw new Error(`Worker ${result.worker} returned other seeds than shard ${job.shardId} asked for.`);
    }
    const asked = guidanceWords(job);
    const drawn = guidanceWords(result);
    if (asked !== drawn) {
      throw new Error(
        `Worker ${result.worker} drew shard ${job.shardId} with ${drawn} where the evaluation asks for ${asked}, so its images are not the evaluation's; it may run an older studio version. Update that worker and resume the evaluation.`,
      );
    }
    const count = job.seeds.length;
    const dimensions = { features: result.featureDimension, logits: result.logitDimension };
    const features = float32FromBase64(result.features, count * dimensions.features, `features of shard ${job.shardId}`);
    const logits = float32FromBase64(result.logits, count * dimensions.logits, `logits of shard ${job.shardId}`);
    if (this.dimensions && (this.dimensions.features !== dimensions.features || this.dimensions.logits !== dimensions.logits)) {
      throw new Error(`Worker ${result.worker} returned ${dimensions.features} features and ${dimensions.logits} logits per sample where earlier shards had ${this.dimensions.features} and ${this.dimensions.logits}: its evaluator is not the same network.`);
    }
    const pixels = result.pixels === null ? null : Buffer.from(result.pixels, 'base64');
    if (pixels !== null && pixels.byteLength !== count * pixelsPerSample) {
      throw new Error(`The images of shard ${job.shardId} hold ${pixels.byteLength} bytes where ${count * pixelsPerSample} were expected.`);
    }
    this.dimensions ??= dimensions;
    const held = this.byScale[scaleIndex]!;
    let added = 0;
    job.seeds.forEach((seed, row) => {
      if (held.has(seed)) return;
      held.set(seed, {
        features: features.slice(row * dimensions.features, (row + 1) * dimensions.features),
        logits: logits.slice(row * dimensions.logits, (row + 1) * dimensions.logits),
        pixels: pixels === null ? null : Uint8Array.from(pixels.subarray(row * pixelsPerSample, (row + 1) * pixelsPerSample)),
      });
      added++;
    });
    return added;
  }

  /** Seeds of a scale held so far. */
  heldCount(scaleIndex: number): number {
    return this.byScale[scaleIndex]!.size;
  }

  /** 8-bit pixels of one sample, when its shard was asked to return images. */
  pixels(scaleIndex: number, seed: number): Uint8Array | null {
    return this.byScale[scaleIndex]!.get(seed)?.pixels ?? null;
  }

  /** Every seed of the scale, in drawing order; throws if one is missing. */
  merged(scaleIndex: number): MergedOutputs {
    const held = this.byScale[scaleIndex]!;
    const { classes, samplesPerScale, seedOffset } = this.spec;
    const seeds = Array.from({ length: samplesPerScale }, (_, position) => seedOffset + position);
    const classIndices = seeds.map((_, position) => classes[position % classes.length]!);
    const missing = seeds.filter((seed) => !held.has(seed)).sort((a, b) => a - b);
    if (missing.length > 0) throw new Error(`Scale ${this.spec.scales[scaleIndex]} still lacks ${missing.length} seeds (first: ${missing[0]}).`);
    const dimensions = this.dimensions!;
    const features = new Float32Array(seeds.length * dimensions.features);
    const logits = new Float32Array(seeds.length * dimensions.logits);
    seeds.forEach((seed, row) => {
      const outputs = held.get(seed)!;
      features.set(outputs.features, row * dimensions.features);
      logits.set(outputs.logits, row * dimensions.logits);
    });
    return {
      features: { count: seeds.length, dimension: dimensions.features, data: features },
      logits: { count: seeds.length, dimension: dimensions.logits, data: logits },
      classIndices: Int32Array.from(classIndices),
      seeds,
    };
  }
}
