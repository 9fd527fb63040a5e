/**
 * First the main event loop's delay while the built-in model's evaluator scores stored samples
 * in the inference worker (evaluation-event-loop.ts); then how long each quality metric takes
 * on 10,000 samples: FID on 2048-dimensional features (Inception-v3's pool features),
 * precision/recall on the same features against 10,000 reference vectors, the Inception Score
 * on 1000-class logits.
 *
 *   npm run bench:metrics [-- --samples N --dimension D --threads T --event-loop-rounds R]
 */
import { parseArgs } from 'node:util';
import { cpus } from 'node:os';
import { OnnxMatrixKernels } from '../electron/inference/linalg-kernels';
import { featureMatrix, type FeatureMatrix } from '../electron/metrics/dense-matrix';
import { featureStatistics, frechetDistance, traceSqrtProduct } from '../electron/metrics/frechet-distance';
import { inceptionScore } from '../electron/metrics/inception-score';
import { pivotedCholesky } from '../electron/metrics/pivoted-cholesky';
import { manifoldRadii, precisionRecallOfManifolds } from '../electron/metrics/precision-recall';
import { symmetricEigenvalues } from '../electron/metrics/symmetric-eigenvalues';
import { measureEvaluationEventLoop, printEventLoopFigures } from './evaluation-event-loop';

const { values } = parseArgs({
  options: {
    samples: { type: 'string', default: '10000' },
    dimension: { type: 'string', default: '2048' },
    classes: { type: 'string', default: '1000' },
    threads: { type: 'string' },
    'event-loop-rounds': { type: 'string', default: '3' },
  },
});
const samples = Number(values.samples);
const dimension = Number(values.dimension);
const classes = Number(values.classes);
const threads = values.threads ? Number(values.threads) : undefined;

/** Deterministic normal variates (xorshift32 + Box–Muller) so runs are comparable. */
function normals(count: number, seed: number): Float32Array {
  let state = seed >>> 0 || 1;
  const uniform = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return ((state >>> 0) + 1) / 4294967297;
  };
  const out = new Float32Array(count);
  for (let i = 0; i < count; i += 2) {
    const radius = Math.sqrt(-2 * Math.log(uniform()));
    const angle = 2 * Math.PI * uniform();
    out[i] = radius * Math.cos(angle);
    if (i + 1 < count) out[i + 1] = radius * Math.sin(angle);
  }
  return out;
}

/** Features with correlated dimensions: 64 shared latent factors plus independent noise, like pool features. */
function syntheticFeatures(count: number, seed: number, shift: number): FeatureMatrix {
  const latent = 64;
  const loadings = normals(latent * dimension, 7);
  const factors = normals(count * latent, seed);
  const data = normals(count * dimension, seed + 1);
  for (let i = 0; i < count; i++) {
    for (let j = 0; j < dimension; j++) data[i * dimension + j]! += shift;
    for (let f = 0; f < latent; f++) {
      const factor = (2 * factors[i * latent + f]!) / Math.sqrt(latent);
      for (let j = 0; j < dimension; j++) data[i * dimension + j]! += factor * loadings[f * dimension + j]!;
    }
  }
  return featureMatrix(data, count, dimension);
}

/**
 * Wall time, and the CPU time the process spent (all threads): on a shared machine the wall
 * time grows with the load while the CPU time stays the cost of the work.
 */
async function timed<T>(label: string, work: () => Promise<T> | T): Promise<T> {
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  const result = await work();
  const cpu = process.cpuUsage(cpuStart);
  const wall = ((performance.now() - start) / 1000).toFixed(2).padStart(8);
  const cpuSeconds = ((cpu.user + cpu.system) / 1e6).toFixed(2).padStart(8);
  console.log(`${label.padEnd(52)} ${wall} s wall ${cpuSeconds} s cpu`);
  return result;
}

const eventLoopRounds = Number(values['event-loop-rounds']);
if (eventLoopRounds > 0) printEventLoopFigures(await measureEvaluationEventLoop(eventLoopRounds, threads ?? 0), eventLoopRounds);

// The synthetic timings below run the kernels on this thread, to time the math alone.
const kernels = new OnnxMatrixKernels(threads ? { threads } : {});
console.log(`metrics bench: ${samples} generated and ${samples} reference samples, ${dimension}-d features, ${classes} classes`);
console.log(`cpu: ${cpus()[0]?.model ?? 'unknown'} × ${cpus().length}, matrix threads: ${threads ?? 'all'}`);

const generated = syntheticFeatures(samples, 11, 0);
const referenceFeatures = syntheticFeatures(samples, 23, 0.01);

const generatedStats = await timed('FID: generated mean and covariance', () => featureStatistics(generated, kernels));
const referenceStats = await featureStatistics(referenceFeatures, kernels);
await timed(`  pivoted Cholesky of Σ (${dimension}×${dimension})`, () => pivotedCholesky(generatedStats.sigma));
await timed(`  eigenvalues of a symmetric ${dimension}×${dimension}`, () => symmetricEigenvalues(referenceStats.sigma));
await timed('  tr √(Σ₁Σ₂)', () => traceSqrtProduct(generatedStats.sigma, referenceStats.sigma, kernels));
const fid = await timed('FID from features (statistics + distance)', async () =>
  frechetDistance(await featureStatistics(generated, kernels), referenceStats, kernels),
);
console.log(`  FID = ${fid.toFixed(4)}`);

const referenceRadii = await timed('precision/recall: reference k-NN radii (once per model)', () => manifoldRadii(referenceFeatures, kernels));
const pr = await timed('precision/recall: generated radii + cross distances', async () =>
  precisionRecallOfManifolds({ features: referenceFeatures, radii: referenceRadii }, { features: generated, radii: await manifoldRadii(generated, kernels) }, kernels),
);
console.log(`  precision = ${pr.precision.toFixed(4)}, recall = ${pr.recall.toFixed(4)}`);

const logits = featureMatrix(normals(samples * classes, 31).map((value) => value * 4), samples, classes);
const is = await timed(`Inception Score (${classes} classes, splits of 5,000)`, () => inceptionScore(logits));
console.log(`  IS = ${is.score.toFixed(3)} (${is.splitSizes.length} splits)`);
await kernels.release();
