/**
 * The worker thread that owns the onnxruntime sessions and runs sampling jobs, so the main
 * event loop never waits on a denoising step. Jobs run one at a time, in arrival order.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { ProviderName } from '../../common/contract/run-request';
import { loadModel, releaseModel, type LoadedModel } from './loaded-model';
import { runSamplingJob } from './sampling-job';
import type { FromWorker, ToWorker, WorkerSettings } from './worker-protocol';

const port = parentPort;
if (port === null) throw new Error('sampling-worker must run as a worker thread.');
const settings = workerData as WorkerSettings;

/** Open models by folder; a new provider choice reopens the sessions. */
const models = new Map<string, { provider: ProviderName; model: LoadedModel }>();
const running = new Map<number, AbortController>();
let queue: Promise<void> = Promise.resolve();

function post(message: FromWorker): void {
  const transfer: ArrayBuffer[] = [];
  if (message.type === 'sample') {
    const { sample } = message;
    for (const array of [sample.image, sample.pixels, sample.trajectory?.xt, sample.trajectory?.predX0]) {
      if (array && array.buffer instanceof ArrayBuffer && array.byteLength === array.buffer.byteLength) transfer.push(array.buffer);
    }
  }
  port?.postMessage(message, transfer);
}

async function modelFor(dir: string, provider: ProviderName): Promise<LoadedModel> {
  const cached = models.get(dir);
  if (cached && cached.provider === provider) return cached.model;
  if (cached) {
    models.delete(dir);
    await releaseModel(cached.model);
  }
  const model = await loadModel(dir, provider, settings.threads, settings.unetPrecision);
  models.set(dir, { provider, model });
  return model;
}

function failure(id: number, error: unknown): FromWorker {
  const err = error instanceof Error ? error : new Error(String(error));
  return { type: 'failed', id, error: { name: err.name, message: err.message } };
}

async function handle(message: ToWorker): Promise<void> {
  if (message.type === 'load') {
    try {
      const model = await modelFor(message.dir, message.provider);
      post({ type: 'loaded', id: message.id, provider: model.unet.provider, fallbacks: model.unet.fallbacks, unetPrecision: model.unetPrecision });
    } catch (error) {
      post(failure(message.id, error));
    }
    return;
  }
  if (message.type !== 'sample') return;
  const controller = running.get(message.id) ?? new AbortController();
  running.set(message.id, controller);
  try {
    controller.signal.throwIfAborted();
    const model = await modelFor(message.dir, message.request.provider);
    const timings = await runSamplingJob(
      model,
      message.request,
      {
        signal: controller.signal,
        cancelled: () => Atomics.load(message.cancelFlag, 0) === 1,
        trajectory: message.trajectory,
        previewEvery: message.previewEvery,
        noise: message.noise,
      },
      {
        progress: (event) => post({ type: 'progress', id: message.id, event }),
        sample: (sample) => post({ type: 'sample', id: message.id, sample }),
      },
    );
    post({ type: 'done', id: message.id, timings, provider: model.unet.provider, fallbacks: model.unet.fallbacks });
  } catch (error) {
    post(failure(message.id, error));
  } finally {
    running.delete(message.id);
  }
}

port.on('message', (message: ToWorker) => {
  if (message.type === 'cancel') {
    // Cancel reaches a job that is running or still queued.
    const controller = running.get(message.id) ?? new AbortController();
    running.set(message.id, controller);
    controller.abort();
    return;
  }
  queue = queue.then(() => handle(message));
});
