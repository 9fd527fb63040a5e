/**
 * What the inference worker does with each request: it owns every onnxruntime session (UNet,
 * classifier gradient, evaluator, the metrics' linear-algebra graphs) and does the numeric work
 * of sampling and scoring, so the main event loop never waits on a denoising step, an evaluator
 * batch or a matrix factorisation. Requests run one at a time, in arrival order; a cancel is
 * seen at once. Models are opened through `openModel`, the one place a provider is chosen.
 */
import type { MessagePort } from 'node:worker_threads';
import type { ProviderName } from '../../common/contract/run-request';
import { loadModel, releaseModel, type LoadedModel } from './loaded-model';
import { classifierViews } from './classifier-views-job';
import { sampleFallingBackToCpu } from './cpu-failover';
import { ScoringJobs } from './scoring-jobs';
import { sessionCensus } from './sessions';
import type { CancelFlag, FromWorker, ToWorker, WorkerSettings } from './worker-protocol';

/** Opens a model folder's sessions on a provider: loadModel, or a stand-in that wraps it. */
export type OpenModel = typeof loadModel;

function failure(id: number, error: unknown): FromWorker {
  const err = error instanceof Error ? error : new Error(String(error));
  return { type: 'failed', id, error: { name: err.name, message: err.message } };
}

function cancelCheck(signal: AbortSignal, flag: CancelFlag): () => boolean {
  return () => signal.aborted || Atomics.load(flag, 0) === 1;
}

/** Answers the engine's requests arriving on `port` until the thread ends. */
export function serveInferenceRequests(port: Pick<MessagePort, 'on' | 'postMessage'>, settings: WorkerSettings, openModel: OpenModel = loadModel): void {
  /** Open models by folder; a new provider choice reopens the sessions. */
  const models = new Map<string, { provider: ProviderName; model: LoadedModel }>();
  const scoring = new ScoringJobs({ threads: settings.threads, linalgGraphsDir: settings.linalgGraphsDir });
  const running = new Map<number, AbortController>();
  let queue: Promise<void> = Promise.resolve();

  function post(message: FromWorker): void {
    const transfer: ArrayBuffer[] = [];
    const owned = (array: ArrayBufferView | undefined): void => {
      if (array && array.buffer instanceof ArrayBuffer && array.byteLength === array.buffer.byteLength) transfer.push(array.buffer);
    };
    if (message.type === 'sample') {
      const { sample } = message;
      for (const array of [sample.image, sample.pixels, sample.trajectory?.xt, sample.trajectory?.predX0, sample.trajectory?.classifier?.heat]) owned(array);
    } else if (message.type === 'evaluated') {
      owned(message.features.data);
      owned(message.logits.data);
    }
    port.postMessage(message, transfer);
  }

  async function modelFor(dir: string, provider: ProviderName): Promise<LoadedModel> {
    const cached = models.get(dir);
    if (cached && cached.provider === provider) return cached.model;
    if (cached) {
      models.delete(dir);
      await releaseModel(cached.model);
    }
    const model = await openModel(dir, provider, settings.threads, settings.unetPrecision);
    models.set(dir, { provider, model });
    return model;
  }

  async function answer(message: Exclude<ToWorker, { type: 'cancel' }>, signal: AbortSignal): Promise<FromWorker> {
    switch (message.type) {
      case 'load': {
        const model = await modelFor(message.dir, message.provider);
        return { type: 'loaded', id: message.id, provider: model.unet.provider, fallbacks: model.unet.fallbacks, unetPrecision: model.unetPrecision };
      }
      case 'sample': {
        const model = await modelFor(message.dir, message.request.provider);
        // Kept before a fallback reopens the folder on the CPU and releases these sessions.
        const openFallbacks = model.unet.fallbacks;
        post({ type: 'provider', id: message.id, provider: model.unet.provider, fallbacks: openFallbacks });
        const { timings, model: finishedOn, failure: midRunFailure } = await sampleFallingBackToCpu(
          model,
          message.request,
          {
            signal,
            cancelled: cancelCheck(signal, message.cancelFlag),
            trajectory: message.trajectory,
            previewEvery: message.previewEvery,
            previewIntervalMs: message.previewIntervalMs,
            noise: message.noise,
            plan: message.plan,
            stepsOn: message.request.stepsOn ?? 'auto',
          },
          {
            progress: (event) => post({ type: 'progress', id: message.id, event }),
            sample: (sample) => post({ type: 'sample', id: message.id, sample }),
          },
          async (midRunFailure) => {
            const cpu = await modelFor(message.dir, 'cpu');
            post({ type: 'provider', id: message.id, provider: cpu.unet.provider, fallbacks: [...openFallbacks, midRunFailure] });
            return cpu;
          },
        );
        const fallbacks = midRunFailure === null ? openFallbacks : [...openFallbacks, midRunFailure];
        return { type: 'done', id: message.id, timings, provider: finishedOn.unet.provider, fallbacks };
      }
      case 'openEvaluator':
        return { type: 'evaluatorOpened', id: message.id, evaluator: await scoring.openEvaluator(message.dir, message.provider) };
      case 'evaluate': {
        const outputs = await scoring.evaluate(message.handle, message.images, message.count, cancelCheck(signal, message.cancelFlag));
        return { type: 'evaluated', id: message.id, ...outputs };
      }
      case 'prepareReference':
        return { type: 'referencePrepared', id: message.id, reference: await scoring.prepareReference(message.handle, cancelCheck(signal, message.cancelFlag)) };
      case 'score':
        return { type: 'scored', id: message.id, scores: await scoring.score(message.handle, message.images, message.classIndices, cancelCheck(signal, message.cancelFlag), signal) };
      case 'releaseEvaluator':
        await scoring.releaseEvaluator(message.handle);
        return { type: 'released', id: message.id };
      case 'qualityMetrics':
        return { type: 'metrics', id: message.id, metrics: await scoring.qualityMetrics(message.files) };
      case 'census':
        return { type: 'census', id: message.id, census: sessionCensus() };
      case 'classifierViews': {
        const model = await modelFor(message.dir, message.provider);
        const question = { states: message.states, t: message.t, label: message.label };
        return { type: 'classifierViews', id: message.id, views: await classifierViews(model, question, cancelCheck(signal, message.cancelFlag)) };
      }
    }
  }

  async function handle(message: Exclude<ToWorker, { type: 'cancel' }>): Promise<void> {
    const controller = running.get(message.id) ?? new AbortController();
    running.set(message.id, controller);
    try {
      controller.signal.throwIfAborted();
      post(await answer(message, controller.signal));
    } catch (error) {
      post(failure(message.id, error));
    } finally {
      running.delete(message.id);
    }
  }

  port.on('message', (message: ToWorker) => {
    if (message.type === 'cancel') {
      // Cancel reaches a request that is running or still queued.
      const controller = running.get(message.id) ?? new AbortController();
      running.set(message.id, controller);
      controller.abort();
      return;
    }
    queue = queue.then(() => handle(message));
  });
}
