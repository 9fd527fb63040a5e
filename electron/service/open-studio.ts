/**
 * The one composition root of the studio: the engine over the model folders, the gallery in
 * the data folder, the job queue kept in it, and the owner of every contract operation.
 * Electron, `serve`, every command-line command and the tests open the studio here.
 */
import type { InvokeMethod } from '../../common/contract/channels';
import type { ImageRef, RunEvent, StudioHandlers, Unsubscribe } from '../../common/contract/studio-api';
import { galleryFile, openGallery, type Gallery } from '../gallery';
import { createEngine, type Engine, type UnetPrecision } from '../inference';
import { packageVersion } from './app-version';
import { EvaluationOperations, type EvaluationSettings } from './evaluation-operations';
import { GalleryOperations } from './gallery-operations';
import { JobQueue } from './job-queue';
import { ModelCatalog } from './model-catalog';
import { findModelFolders } from './model-folders';
import { RunOperations } from './run-operations';
import { TrajectoryQuestions } from './trajectory-questions';

/** The engine's part of the setup: all that a command needing no gallery (metrics) opens. */
export interface EngineSetup {
  /** Each entry is a model folder (with manifest.json) or a folder of model folders. */
  modelDirs: readonly string[];
  /** onnxruntime intra-op threads; 0 lets onnxruntime choose. */
  threads?: number;
  /** Which UNet graph runs (default "auto": float16 on GPU providers when the model has it). */
  unetPrecision?: UnetPrecision;
  /** The built inference worker, where the host bundles one. */
  workerEntry?: URL;
  /** The metrics' linear-algebra graph files, where the host ships them elsewhere than the source folder. */
  linalgGraphsDir?: string;
}

export interface StudioSetup extends EngineSetup {
  /** Folder of the gallery database (created when missing). */
  dataDir: string;
  /** Recorded with every run; package.json's version unless the host knows its own. */
  appVersion?: string;
  /**
   * Take over what a closed or dead studio left in the queue and carry it on (default true).
   * One-shot commands leave it for the studio, and run only what they queue themselves.
   */
  carryOnQueue?: boolean;
  /** Provider and batch size of evaluations (the command line sets them). */
  evaluation?: EvaluationSettings;
}

/** Every contract operation, answered by its owner, plus what the hosts need besides. */
export interface Studio extends StudioHandlers {
  onRunEvent(listener: (event: RunEvent) => void): Unsubscribe;
  /** PNG bytes of an image the page shows by URL, or null when there is none. */
  readImage(ref: ImageRef): Promise<Uint8Array | null>;
  readonly gallery: Gallery;
  readonly catalog: ModelCatalog;
  readonly queue: JobQueue;
  readonly evaluations: EvaluationOperations;
  readonly runs: RunOperations;
  /**
   * Starts the worker and opens the default model in the background, so the first Generate waits
   * for nothing; hosts call it once their page is on its way. Resolves when that is done or has
   * failed; a failure is one of listModelProblems, never a rejection.
   */
  preloadDefaultModel(): Promise<void>;
  /** Stops the running entry (it waits in the queue for the next studio), and closes engine and gallery. */
  close(): Promise<void>;
}

/** The methods `methods` of `owner`, bound to it, as entries of the operation table. */
function operationsOf<M extends InvokeMethod>(owner: Pick<StudioHandlers, M>, methods: readonly M[]): Pick<StudioHandlers, M> {
  const bound: Partial<Record<M, unknown>> = {};
  for (const method of methods) bound[method] = (owner[method] as (...args: unknown[]) => unknown).bind(owner);
  return bound as Pick<StudioHandlers, M>;
}

/** The inference engine over the model folders, opened the way the studio opens it. */
export function openEngine(setup: EngineSetup): Engine {
  return createEngine({
    modelFolders: findModelFolders(setup.modelDirs),
    threads: setup.threads ?? 0,
    unetPrecision: setup.unetPrecision ?? 'auto',
    ...(setup.workerEntry ? { workerEntry: setup.workerEntry } : {}),
    ...(setup.linalgGraphsDir ? { linalgGraphsDir: setup.linalgGraphsDir } : {}),
  });
}

export function openStudio(setup: StudioSetup): Studio {
  const engine = openEngine(setup);
  let gallery: Gallery;
  try {
    gallery = openGallery(galleryFile(setup.dataDir));
  } catch (error) {
    void engine.close();
    throw error;
  }
  const appVersion = setup.appVersion ?? packageVersion();
  const listeners = new Set<(event: RunEvent) => void>();
  const emit = (event: RunEvent): void => {
    for (const listener of listeners) listener(event);
  };
  const catalog = new ModelCatalog(engine, gallery);
  const queue = new JobQueue(gallery.queue, (error) => gallery.explainStorageFailure(error));
  const runs = new RunOperations({ engine, gallery, catalog, queue, appVersion, emit });
  const evaluations = new EvaluationOperations({ engine, gallery, catalog, queue, appVersion, ...setup.evaluation });
  const galleryOperations = new GalleryOperations(gallery, catalog);
  const trajectoryQuestions = new TrajectoryQuestions(gallery, catalog, engine);
  queue.start({ adoptLeftEntries: setup.carryOnQueue ?? true });

  const operations: StudioHandlers = {
    ...operationsOf(catalog, ['listModels', 'listModelProblems', 'loadModel']),
    ...operationsOf(runs, ['startRun', 'startSweep', 'startGridSweep', 'tagSweepGrid', 'readSweepGrid', 'finishRun', 'forkSample', 'compareSample', 'cancelRun']),
    ...operationsOf(galleryOperations, [
      'listSamples',
      'getSample',
      'galleryFacets',
      'editSample',
      'deleteSample',
      'exportPng',
      'exportTrajectory',
      'exportSamplesZip',
      'readRecipe',
      'listPresets',
      'savePreset',
      'deletePreset',
    ]),
    ...operationsOf(trajectoryQuestions, ['askClassifier', 'askEvaluator']),
    startEvaluation: (spec) => evaluations.startEvaluation(spec),
    resumeEvaluation: ({ evaluationId }) => evaluations.resumeEvaluation(evaluationId),
    cancelEvaluation: async ({ evaluationId }) => ({ cancelled: evaluations.cancelEvaluation(evaluationId) }),
    listEvaluations: async () => evaluations.listEvaluations(),
    getEvaluation: async ({ evaluationId }) => evaluations.viewEvaluation(evaluationId),
    getEvaluationShards: async ({ evaluationId }) => evaluations.viewShards(evaluationId),
    listQueue: async () => queue.view(),
    pauseQueue: async () => queue.pause(),
    resumeQueue: async () => queue.resume(),
    moveQueueEntry: async ({ jobId, to }) => queue.move(jobId, to),
    removeQueueEntry: async ({ jobId }) => queue.remove(jobId),
  };

  let preload: Promise<void> | null = null;
  let closed: Promise<void> | null = null;
  return {
    ...operations,
    onRunEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    readImage: (ref) => galleryOperations.readImage(ref),
    gallery,
    catalog,
    queue,
    evaluations,
    runs,
    preloadDefaultModel() {
      // A closing studio opens nothing more.
      preload ??= closed === null ? catalog.preloadDefaultModel() : Promise.resolve();
      return preload;
    },
    close() {
      closed ??= (async () => {
        await queue.close();
        // Closing the engine ends a load under way; the gallery stays open until that load has let go of it.
        await engine.close();
        await preload;
        gallery.close();
      })();
      return closed;
    },
  };
}
