/**
 * onnxruntime-node sessions: provider choice with visible fallback, and runs whose feeds are
 * checked against the graph's inputs so a mismatch reads as a sentence with shapes.
 */
import os from 'node:os';
import { isMainThread } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import type { ProviderName } from '../../common/contract/run-request';
import { withOptimizedGraph } from './optimized-graph-cache';
import { firstLine, missingProviderReason, providerAttemptOrder, type ConcreteProvider, type ProviderAttempt } from './provider-order';
import { intraOpThreads } from './thread-policy';

// Failed provider probes are reported through OpenedSession.fallbacks; keep onnxruntime's own log quiet.
ort.env.logLevel = 'fatal';

export { autoProviderOrder, type ConcreteProvider, type ProviderAttempt, type UnetGraphPrecision, type UnetPrecision } from './provider-order';

export interface OpenedSession {
  session: ort.InferenceSession;
  /** The provider the session really runs on. */
  provider: ConcreteProvider;
  /** Providers tried before it, with why they failed. */
  fallbacks: ProviderAttempt[];
}

export interface SessionSettings {
  provider: ProviderName;
  /** CPU threads per operator (intra-op); 0 chooses them from the free cores and the batch (thread-policy.ts). */
  threads: number;
  /** Images per network call when the caller knows it; the policy otherwise assumes a batch that keeps every free core busy. */
  batch?: number;
}

/** The intra-op threads a session opened now gets: the given count, or the policy's for this moment's load. */
export function sessionThreads(settings: Pick<SessionSettings, 'threads' | 'batch'>): number {
  if (settings.threads > 0) return settings.threads;
  return intraOpThreads({ cores: os.availableParallelism(), loadAverage: os.loadavg()[0] ?? 0, batch: settings.batch ?? Infinity });
}

export class GraphLoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GraphLoadError';
  }
}

/** Sessions opened by this thread; the studio opens every one in its inference worker. */
export interface SessionCensus {
  isMainThread: boolean;
  sessionsOpened: number;
}

let sessionsOpened = 0;

export function sessionCensus(): SessionCensus {
  return { isMainThread, sessionsOpened };
}

/** The one place a session is created, so the census counts every graph, whatever its source. */
async function createSession(graph: string | Uint8Array, options: ort.InferenceSession.SessionOptions): Promise<ort.InferenceSession> {
  // create's overloads take a path or bytes, not their union.
  const session = typeof graph === 'string' ? await ort.InferenceSession.create(graph, options) : await ort.InferenceSession.create(graph, options);
  sessionsOpened += 1;
  return session;
}

/**
 * Opens `modelPath` (or the file it names for each provider) on the requested provider; for
 * "auto", or when a named GPU provider fails, it falls back along the platform order down to
 * the CPU and records why.
 */
export async function openSession(
  modelPath: string | ((provider: ConcreteProvider) => string),
  label: string,
  settings: SessionSettings,
): Promise<OpenedSession> {
  const fallbacks: ProviderAttempt[] = [];
  const threads = sessionThreads(settings);
  for (const provider of providerAttemptOrder(settings.provider)) {
    const missing = missingProviderReason(provider);
    if (missing !== null) {
      fallbacks.push({ provider, error: missing });
      continue;
    }
    try {
      const session = await withOptimizedGraph(provider, createSession)(typeof modelPath === 'string' ? modelPath : modelPath(provider), {
        executionProviders: [provider],
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        graphOptimizationLevel: 'all',
        logSeverityLevel: 4,
        // Idle pool threads sleep instead of spinning: the main thread, the renderer and other
        // work share the cores between sampling steps.
        extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
      });
      return { session, provider, fallbacks };
    } catch (error) {
      fallbacks.push({ provider, error: firstLine(error) });
      if (provider === 'cpu') break;
    }
  }
  const cpuFailure = fallbacks.find((attempt) => attempt.provider === 'cpu');
  throw new GraphLoadError(
    `The ${label} graph could not be opened${cpuFailure ? `: ${cpuFailure.error}` : ''}. The ONNX file may be damaged or use operators this onnxruntime lacks; re-export the model.`,
  );
}

/** Opens one of the studio's own CPU graphs from its bytes (the metrics' linear algebra). */
export async function openCpuGraph(bytes: Uint8Array, label: string, threads: number): Promise<ort.InferenceSession> {
  try {
    return await createSession(bytes, {
      executionProviders: ['cpu'],
      graphOptimizationLevel: 'all',
      ...(threads > 0 ? { intraOpNumThreads: threads, interOpNumThreads: 1 } : {}),
    });
  } catch (error) {
    throw new GraphLoadError(`The studio's ${label} graph could not be opened: ${firstLine(error)}. Reinstall the studio; its graph files may be damaged.`);
  }
}

/** Where a session leaves its outputs: one place for all, or one per output name. */
export type OutputLocations = 'cpu' | 'gpu-buffer' | Readonly<Record<string, 'cpu' | 'gpu-buffer'>>;

/**
 * Opens a graph on the provider a model's sessions really got, outputs placed as
 * `outputLocation` asks: the device sampling path's step graphs (bytes), and its own UNet and
 * classifier sessions whose outputs stay on the device (a model file). It does not fall back:
 * the provider already opened the model's UNet, so a failure here is a damaged file.
 */
export async function openGraphOn(
  graph: string | Uint8Array,
  label: string,
  provider: ConcreteProvider,
  threads: number,
  outputLocation: OutputLocations,
): Promise<ort.InferenceSession> {
  try {
    return await createSession(graph, {
      executionProviders: [provider],
      graphOptimizationLevel: 'all',
      preferredOutputLocation: outputLocation,
      ...(threads > 0 ? { intraOpNumThreads: threads, interOpNumThreads: 1 } : {}),
    });
  } catch (error) {
    throw new GraphLoadError(`The ${label} graph could not be opened on ${provider.toUpperCase()}: ${firstLine(error)}. Its file may be damaged: reinstall the studio, or re-export the model.`);
  }
}

/** Expected input of a graph: the name the manifest gives it and what it is for. */
export interface ExpectedInput {
  name: string;
  role: string;
}

function describeShape(shape: readonly (number | string)[]): string {
  return `[${shape.join(', ')}]`;
}

function describeInputs(session: ort.InferenceSession): string {
  return session.inputMetadata
    .map((input) => (input.isTensor ? `${input.name} ${input.type} ${describeShape(input.shape)}` : input.name))
    .join(', ');
}

/** Throws when the graph's inputs are not exactly the ones the manifest names. */
export function checkGraphInputs(session: ort.InferenceSession, label: string, expected: readonly ExpectedInput[], outputs: readonly string[]): void {
  const actual = new Set(session.inputNames);
  const wanted = new Set(expected.map((input) => input.name));
  const missing = expected.filter((input) => !actual.has(input.name));
  const unexpected = session.inputNames.filter((name) => !wanted.has(name));
  if (missing.length > 0 || unexpected.length > 0) {
    const parts = [
      ...missing.map((input) => `the manifest's ${input.role} input "${input.name}" is not in the graph`),
      ...unexpected.map((name) => `the graph needs an input "${name}" the manifest does not name`),
    ];
    throw new GraphLoadError(`The ${label} graph and its manifest disagree: ${parts.join('; ')}. The graph takes ${describeInputs(session)}. Fix the manifest or re-export the model.`);
  }
  const missingOutputs = outputs.filter((name) => !session.outputNames.includes(name));
  if (missingOutputs.length > 0) {
    throw new GraphLoadError(`The ${label} graph has no output ${missingOutputs.map((name) => `"${name}"`).join(', ')}; it gives ${session.outputNames.join(', ')}. Fix the manifest or re-export the model.`);
  }
}

/** Runs a session, turning onnxruntime's failures into a sentence with the feed and graph shapes. */
export async function runChecked(session: ort.InferenceSession, label: string, feeds: Record<string, ort.Tensor>): Promise<ort.InferenceSession.OnnxValueMapType> {
  try {
    return await session.run(feeds);
  } catch (error) {
    const given = Object.entries(feeds)
      .map(([name, tensor]) => `${name} ${tensor.type} ${describeShape(tensor.dims)}`)
      .join(', ');
    throw new GraphLoadError(`The ${label} graph failed on inputs ${given} (it takes ${describeInputs(session)}): ${firstLine(error)}`);
  }
}

export { ort };
