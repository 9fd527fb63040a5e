/**
 * `metrics --features GEN.npy --reference REF.npy [--logits GEN_LOGITS.npy]`: FID, precision,
 * recall and (with logits) the Inception Score of a generated set, printed as one JSON object.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { openEngine } from '../../service/open-studio';
import { DEFAULT_NEIGHBOURHOOD } from '../../metrics/precision-recall';
import { INCEPTION_SPLIT_SIZE } from '../../metrics/inception-score';

export interface MetricsCommandOptions {
  features: string;
  reference: string;
  logits?: string;
  referenceMu?: string;
  referenceSigma?: string;
  k: number;
  splitSize: number;
  threads?: number;
}

/** The printed report; snake_case keys, as researchers' scripts expect. */
export interface MetricsReport {
  samples: number;
  fid: number;
  precision: number;
  recall: number;
  density: number;
  coverage: number;
  inception_score?: number;
  /** Samples in each Inception Score split, in the rows' order. */
  inception_score_splits?: number[];
}

function positiveInteger(name: string) {
  return (text: string): number => {
    const value = Number(text);
    if (!Number.isInteger(value) || value < 1) throw new InvalidArgumentError(`${name} must be a whole number of at least 1.`);
    return value;
  };
}

export async function computeMetricsReport(options: MetricsCommandOptions): Promise<MetricsReport> {
  if ((options.referenceMu === undefined) !== (options.referenceSigma === undefined)) {
    throw new Error('Give --reference-mu and --reference-sigma together, or neither (the statistics are then estimated from --reference).');
  }
  // The matrix products and factorisations run in the inference worker, which owns the graphs.
  const engine = openEngine({ modelDirs: [], threads: options.threads });
  try {
    const metrics = await engine.qualityMetrics({
      features: options.features,
      reference: options.reference,
      ...(options.logits ? { logits: options.logits } : {}),
      ...(options.referenceMu ? { referenceMu: options.referenceMu } : {}),
      ...(options.referenceSigma ? { referenceSigma: options.referenceSigma } : {}),
      neighbourhood: options.k,
      splitSize: options.splitSize,
    });
    return {
      samples: metrics.sampleCount,
      fid: metrics.fid,
      precision: metrics.precision,
      recall: metrics.recall,
      density: metrics.density,
      coverage: metrics.coverage,
      ...(metrics.inceptionScore ? { inception_score: metrics.inceptionScore.score, inception_score_splits: metrics.inceptionScore.splitSizes } : {}),
    };
  } finally {
    await engine.close();
  }
}

export function metricsCommand(): Command {
  return new Command('metrics')
    .description('FID, precision, recall and Inception Score of generated features against reference features (.npy files)')
    .requiredOption('--features <file>', 'generated features, [N, D] float32 .npy (the evaluator\'s features output)')
    .requiredOption('--reference <file>', 'reference features, [M, D] .npy, for precision/recall and (without --reference-mu) FID')
    .option('--logits <file>', 'generated logits, [N, K] .npy, for the Inception Score')
    .option('--reference-mu <file>', 'reference feature mean [D] .npy (float64), used for FID instead of estimating it')
    .option('--reference-sigma <file>', 'reference feature covariance [D, D] .npy (float64)')
    .addOption(new Option('--k <n>', 'neighbourhood size of the precision/recall manifolds').argParser(positiveInteger('--k')).default(DEFAULT_NEIGHBOURHOOD))
    .addOption(new Option('--split-size <n>', 'samples per Inception Score split, in the rows\' order (the reference evaluator\'s 5000)').argParser(positiveInteger('--split-size')).default(INCEPTION_SPLIT_SIZE))
    .addOption(new Option('--threads <n>', 'CPU threads for the matrix products (default: all cores)').argParser(positiveInteger('--threads')))
    .action(async (options: MetricsCommandOptions) => {
      const report = await computeMetricsReport(options);
      process.stdout.write(`${JSON.stringify(report)}\n`);
    });
}
