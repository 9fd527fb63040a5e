/** The engine on the main thread: finds models, and forwards jobs to the inference worker. */
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { describeProblems } from '../../common/contract/bounds';
import { RecordedRunRequest, type ProviderName, type RunRequest } from '../../common/contract/run-request';
import { RunRequestError, planRun } from '../../common/models/run-plan';
import type { ModelManifest } from '../../common/models/manifest';
import type { QualityMetrics } from '../metrics/quality-metrics';
import { remoteEvaluator, type EvaluatorNetwork, type WorkerCall } from './evaluator-network';
import { sourceLinalgGraphsDir } from './linalg-graph-files';
import { readManifest } from './model-folder';
import { checkReplayNoise } from './replay-noise';
import type { SessionCensus } from './sessions';
import { stepPlacementProblem } from './step-placement';
import type { Engine, EngineOptions, LoadedModelInfo, ModelScan, ModelSummary, RecordedClassifierViews, RunResult, SampleOptions, SampleResult } from './types';
import type { CancelFlag, FromWorker, QualityMetricFiles, ToWorker, WorkerSettings } from './worker-protocol';

/** Runs a TypeScript worker entry through tsx's loader; a built .js entry starts directly. */
function startWorker(entry: URL, settings: WorkerSettings): Worker {
  if (!entry.pathname.endsWith('.ts')) return new Worker(entry, { workerData: settings });
  const tsxPackage = createRequire(import.meta.url).resolve('tsx/package.json');
  const tsxApi = pathToFileURL(path.join(path.dirname(tsxPackage), 'dist/esm/api/index.mjs')).href;
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(bootstrap, { eval: true, workerData: settings });
}

interface PendingJob {
  onMessage(message: FromWorker): void;
  fail(error: Error): void;
}

function errorFrom(serialized: { name: string; message: string }): Error {
  const error = new Error(serialized.message);
  error.name = serialized.name;
  return error;
}

function cancelledError(message = 'Sampling was cancelled.'): Error {
  const error = new Error(message);
  error.name = 'AbortError';
  return error;
}

export function createEngine(options: EngineOptions = {}): Engine {
  const entry = options.workerEntry ?? new URL('./inference-worker.ts', import.meta.url);
  const settings: WorkerSettings = {
    threads: options.threads ?? 0,
    unetPrecision: options.unetPrecision ?? 'auto',
    linalgGraphsDir: options.linalgGraphsDir ?? sourceLinalgGraphsDir(),
  };
  let worker: Worker | null = null;
  /** Set by close: a call that arrives afterwards must not start a worker nobody will stop. */
  let closed = false;
  /** Counts the workers started, so a handle into a worker that has stopped is not sent to its successor. */
  let generation = 0;
  let nextId = 1;
  const pending = new Map<number, PendingJob>();

  function ensureWorker(): Worker {
    if (worker !== null) return worker;
    if (closed) throw new Error('The engine was closed.');
    const started = startWorker(entry, settings);
    generation += 1;
    started.on('message', (message: FromWorker) => pending.get(message.id)?.onMessage(message));
    const failAll = (error: Error): void => {
      for (const job of pending.values()) job.fail(error);
      pending.clear();
      worker = null;
    };
    started.on('error', (error) => failAll(new Error(`The inference worker stopped: ${error.message}`)));
    started.on('exit', (code) => failAll(new Error(`The inference worker exited (code ${code}).`)));
    worker = started;
    return started;
  }

  function send(message: ToWorker): void {
    // Closing failed every job, so there is nothing left to cancel.
    if (closed && message.type === 'cancel') return;
    ensureWorker().postMessage(message);
  }

  const call: WorkerCall = (message, take, signal) => {
    if (signal?.aborted) return Promise.reject(cancelledError('The evaluation was cancelled.'));
    const id = nextId++;
    const cancelFlag: CancelFlag = new Int32Array(new SharedArrayBuffer(4));
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        Atomics.store(cancelFlag, 0, 1);
        send({ type: 'cancel', id });
      };
      const settle = (): void => {
        pending.delete(id);
        signal?.removeEventListener('abort', onAbort);
      };
      pending.set(id, {
        onMessage(answer) {
          if (answer.type === 'failed') {
            settle();
            // Only evaluation requests can be cancelled; whichever check stopped it, the sentence is one.
            reject(answer.error.name === 'AbortError' ? cancelledError('The evaluation was cancelled.') : errorFrom(answer.error));
            return;
          }
          const value = take(answer);
          if (value === undefined) return;
          settle();
          resolve(value);
        },
        fail(error) {
          settle();
          reject(error);
        },
      });
      signal?.addEventListener('abort', onAbort, { once: true });
      send(message(id, cancelFlag));
    });
  };

  async function openEvaluator(modelDir: string, evaluatorOptions: { provider?: ProviderName } = {}): Promise<EvaluatorNetwork> {
    const dir = path.resolve(modelDir);
    const info = await call(
      (id) => ({ type: 'openEvaluator', id, dir, provider: evaluatorOptions.provider ?? 'auto' }),
      (answer) => (answer.type === 'evaluatorOpened' ? answer.evaluator : undefined),
    );
    const openedIn = generation;
    let released = false;
    const release = async (): Promise<void> => {
      // A stopped worker took its sessions with it.
      if (released || worker === null || generation !== openedIn) return;
      released = true;
      await call(
        (id) => ({ type: 'releaseEvaluator', id, handle: info.handle }),
        (answer) => (answer.type === 'released' ? true : undefined),
      );
    };
    return remoteEvaluator(info, call, release);
  }

  function qualityMetrics(files: QualityMetricFiles): Promise<QualityMetrics> {
    return call(
      (id) => ({ type: 'qualityMetrics', id, files }),
      (answer) => (answer.type === 'metrics' ? answer.metrics : undefined),
    );
  }

  async function classifierViews(modelId: string, question: { states: Float32Array; t: Int32Array; label: number; provider?: ProviderName }, signal?: AbortSignal): Promise<RecordedClassifierViews> {
    const model = await findModel(modelId);
    const { states, t, label } = question;
    return call(
      (id, cancelFlag) => ({ type: 'classifierViews', id, dir: model.dir, provider: question.provider ?? 'auto', states, t, label, cancelFlag }),
      (answer) => (answer.type === 'classifierViews' ? answer.views : undefined),
      signal,
    );
  }

  function workerSessionCensus(): Promise<SessionCensus> {
    return call(
      (id) => ({ type: 'census', id }),
      (answer) => (answer.type === 'census' ? answer.census : undefined),
    );
  }

  async function scanModels(): Promise<ModelScan> {
    const folders = options.modelFolders ?? [];
    const scan: ModelScan = { models: [], problems: [] };
    for (const folder of folders) {
      const dir = path.resolve(folder);
      let manifest: ModelManifest;
      try {
        manifest = await readManifest(dir);
      } catch (error) {
        scan.problems.push({ folder: dir, message: (error as Error).message });
        continue;
      }
      const first = scan.models.find((summary) => summary.id === manifest.id);
      if (first) {
        if (first.dir !== dir) {
          scan.problems.push({ folder: dir, message: `The model id "${manifest.id}" is already taken by ${first.dir}, so this folder is not offered. Give one of them another id in its manifest.` });
        }
        continue;
      }
      scan.models.push({ id: manifest.id, name: manifest.name, dir, manifest });
    }
    return scan;
  }

  async function listModels(): Promise<ModelSummary[]> {
    return (await scanModels()).models;
  }

  async function findModel(id: string): Promise<ModelSummary> {
    const models = await listModels();
    const model = models.find((candidate) => candidate.id === id);
    if (!model) {
      const known = models.map((candidate) => `"${candidate.id}"`).join(', ') || 'none';
      throw new Error(`No model with id "${id}" was found. Available models: ${known}.`);
    }
    return model;
  }

  async function loadModel(id: string, provider: ProviderName = 'auto'): Promise<LoadedModelInfo> {
    const model = await findModel(id);
    const jobId = nextId++;
    return new Promise<LoadedModelInfo>((resolve, reject) => {
      pending.set(jobId, {
        onMessage(message) {
          if (message.type === 'loaded') resolve({ ...model, provider: message.provider, fallbacks: message.fallbacks, unetPrecision: message.unetPrecision });
          else if (message.type === 'failed') reject(errorFrom(message.error));
          else return;
          pending.delete(jobId);
        },
        fail: reject,
      });
      send({ type: 'load', id: jobId, dir: model.dir, provider });
    });
  }

  async function sample(input: RunRequest, sampleOptions: SampleOptions = {}): Promise<RunResult> {
    if (typeof input.scale === 'number' && !(Number.isFinite(input.scale) && input.scale >= 0)) {
      throw new RunRequestError(`The guidance scale must be a number of 0 or more, got ${input.scale}.`);
    }
    // A request with its plan was parsed and planned by the caller; any other is checked here.
    // The engine draws batch by batch, so it takes any number of seeds (an evaluation's runs may hold many).
    const parsed = sampleOptions.plan ? { success: true as const, data: input } : RecordedRunRequest.safeParse(input);
    if (!parsed.success) throw new Error(`The run request is not valid: ${describeProblems(parsed.error)}.`);
    const request = parsed.data;
    const model = await findModel(request.modelId);
    // Mistakes in the request are reported here, before the worker does any work.
    const plan = sampleOptions.plan ?? planRun(model.manifest, request);
    if (sampleOptions.noise) checkReplayNoise(sampleOptions.noise, request, plan);
    const placementProblem = stepPlacementProblem(request, plan, sampleOptions.trajectory ?? false);
    if (placementProblem !== null) throw new RunRequestError(placementProblem);
    const { signal } = sampleOptions;
    signal?.throwIfAborted();
    const jobId = nextId++;
    const samples: SampleResult[] = [];
    // The worker may be inside a network call; the shared flag is seen before its next one.
    const cancelFlag = new Int32Array(new SharedArrayBuffer(4));
    return new Promise<RunResult>((resolve, reject) => {
      const onAbort = (): void => {
        Atomics.store(cancelFlag, 0, 1);
        send({ type: 'cancel', id: jobId });
      };
      const settle = (): void => {
        pending.delete(jobId);
        signal?.removeEventListener('abort', onAbort);
      };
      // A callback that throws (a sample that cannot be stored) ends the job with its error:
      // the worker stops drawing, and the error reaches the caller instead of the message listener.
      const callerFailed = (error: unknown): void => {
        Atomics.store(cancelFlag, 0, 1);
        send({ type: 'cancel', id: jobId });
        settle();
        reject(error instanceof Error ? error : new Error(String(error)));
      };
      pending.set(jobId, {
        onMessage(message) {
          switch (message.type) {
            case 'progress':
              // Steps the worker finished before it saw the cancel are not reported.
              if (signal?.aborted) return;
              try {
                sampleOptions.onProgress?.(message.event);
              } catch (error) {
                callerFailed(error);
              }
              return;
            case 'provider':
              try {
                sampleOptions.onProvider?.(message.provider, message.fallbacks);
              } catch (error) {
                callerFailed(error);
              }
              return;
            case 'sample':
              samples.push(message.sample);
              try {
                sampleOptions.onSample?.(message.sample);
              } catch (error) {
                callerFailed(error);
              }
              return;
            case 'done':
              settle();
              resolve({ samples, provider: message.provider, fallbacks: message.fallbacks, timings: message.timings });
              return;
            case 'failed':
              settle();
              reject(message.error.name === 'AbortError' ? cancelledError() : errorFrom(message.error));
              return;
            default:
              return;
          }
        },
        fail(error) {
          settle();
          reject(error);
        },
      });
      signal?.addEventListener('abort', onAbort, { once: true });
      send({
        type: 'sample',
        id: jobId,
        dir: model.dir,
        request,
        trajectory: sampleOptions.trajectory ?? false,
        previewEvery: sampleOptions.previewEvery ?? 1,
        previewIntervalMs: sampleOptions.previewIntervalMs ?? 0,
        noise: sampleOptions.noise ?? null,
        plan,
        cancelFlag,
      });
    });
  }

  async function close(): Promise<void> {
    closed = true;
    const running = worker;
    worker = null;
    if (running !== null) {
      running.removeAllListeners('exit');
      await running.terminate();
    }
    for (const job of pending.values()) job.fail(new Error('The engine was closed.'));
    pending.clear();
  }

  return { listModels, scanModels, loadModel, sample, openEvaluator, qualityMetrics, workerSessionCensus, classifierViews, close };
}
