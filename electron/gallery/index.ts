import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type Database from 'better-sqlite3';
import type { Recipe } from '../../common/contract/recipe';
import { modelFingerprint } from '../../common/models/model-identity';
import { EvaluationsRepository } from './evaluations-repository';
import { ModelsRepository } from './models-repository';
import { openDatabase, type OpenDatabaseOptions } from './open-database';
import { type ExportedSample, exportSample, type ImportedRecipe, importRecipe, type ModelLookup } from './recipes';
import { RunsRepository } from './runs-repository';
import { SamplesRepository } from './samples-repository';
import { PresetsRepository } from './presets-repository';
import { QueueRepository } from './queue-repository';
import { TrajectoriesRepository } from './trajectories-repository';
import { RUN_LEASE_RENEW_MS } from './owner-process';
import { explainStorageFailure, folderNotWritable, storageFaultOf, type StoragePlace } from './storage-error';

export interface Gallery {
  readonly file: string;
  /** Schema version of the file before it was opened (0: new file). */
  readonly previousVersion: number;
  /** Copy taken before migrating, or null. */
  readonly backupFile: string | null;
  /** Runs found still running from a process that died, now marked interrupted. */
  readonly interruptedRunIds: readonly number[];
  readonly models: ModelsRepository;
  readonly runs: RunsRepository;
  readonly samples: SamplesRepository;
  readonly trajectories: TrajectoriesRepository;
  readonly presets: PresetsRepository;
  readonly evaluations: EvaluationsRepository;
  /** The job queue's entries, kept across restarts. */
  readonly queue: QueueRepository;
  /** The sample's PNG with its full recipe, and a telling file name. */
  exportPng(sampleId: number): ExportedSample;
  /** A PNG's recipe as a run request; models are looked up in `findModel`, else among the gallery's models. */
  importPng(png: Uint8Array, findModel?: ModelLookup, currentNoiseAlgorithm?: string): ImportedRecipe;
  /**
   * The error to show for a failed read or write of this gallery: a StorageError whose
   * sentence names the file or folder and what to do, or the error unchanged.
   */
  explainStorageFailure(error: unknown, work?: Pick<StoragePlace, 'bytesStillNeeded'>): unknown;
  close(): void;
}

/**
 * Opens the gallery file (creating its folder and the file when needed), migrates it to
 * the current schema and marks runs orphaned by a crash as interrupted.
 */
export function openGallery(file: string, options: OpenDatabaseOptions = {}): Gallery {
  if (file !== ':memory:') makeDataFolder(dirname(file));
  try {
    const { db, previousVersion, backupFile } = openDatabase(file, options);
    return createGallery(db, file, previousVersion, backupFile);
  } catch (error) {
    throw explainStorageFailure(error, { file });
  }
}

function makeDataFolder(folder: string): void {
  try {
    mkdirSync(folder, { recursive: true });
  } catch (error) {
    throw storageFaultOf(error) === null ? error : folderNotWritable(folder, error);
  }
}

function createGallery(db: Database.Database, file: string, previousVersion: number, backupFile: string | null): Gallery {
  const explain = (error: unknown, work: Pick<StoragePlace, 'bytesStillNeeded'> = {}): unknown => {
    let lockHolders: string[] = [];
    try {
      lockHolders = runs.otherLiveOwners().map((pid) => `process ${pid} (another Guided Diffusion Studio drawing a run there)`);
    } catch {
      // Naming the holder is a courtesy; the sentence stands without it.
    }
    return explainStorageFailure(error, { file, lockHolders, ...work });
  };
  const models = new ModelsRepository(db);
  const runs: RunsRepository = new RunsRepository(db, explain);
  const trajectories = new TrajectoriesRepository(db);
  const samples = new SamplesRepository(db, runs, trajectories, explain);
  const presets = new PresetsRepository(db);
  const evaluations = new EvaluationsRepository(db);
  const queue = new QueueRepository(db);
  let interruptedRunIds: number[];
  try {
    interruptedRunIds = db.transaction(() => {
      evaluations.markInterrupted();
      return runs.markInterrupted();
    }).immediate();
  } catch (error) {
    db.close();
    throw error;
  }
  // The main thread is free while the worker samples, so leases are renewed on time.
  const heartbeat = setInterval(() => {
    try {
      runs.renewLeases();
    } catch (error) {
      // A timer has no caller to tell; the next beat tries again, and the studio stays up.
      console.error('Renewing the leases of running runs failed:', error);
    }
  }, RUN_LEASE_RENEW_MS);
  heartbeat.unref();

  const galleryModels: ModelLookup = (modelId) => {
    const stored = models.get(modelId);
    return stored === undefined ? undefined : { ...modelFingerprint(stored.manifest), sha256: stored.record.sha256, manifest: stored.manifest };
  };

  return {
    file,
    previousVersion,
    backupFile,
    interruptedRunIds,
    models,
    runs,
    samples,
    trajectories,
    presets,
    evaluations,
    queue,
    exportPng: (sampleId) => exportSample(sampleId, { samples, runs, models }),
    importPng: (png, findModel = galleryModels, currentNoiseAlgorithm) => importRecipe(png, findModel, currentNoiseAlgorithm),
    explainStorageFailure: explain,
    close: () => {
      clearInterval(heartbeat);
      if (!db.open) return;
      runs.renewLeases();
      db.close();
    },
  };
}

export type { Recipe, ExportedSample, ImportedRecipe, ModelLookup };
export { GalleryError } from './gallery-error';
export { StorageError, storageFaultOf, type StorageFault } from './storage-error';
export { RecipeReadError } from '../png/recipe-chunk';
export { defaultDataDir, galleryFile } from './paths';
export { LATEST_VERSION } from './migrations';
export type { NewSample } from './samples-repository';
export type { NewTrajectoryStep, StoredClassifierView, TrajectoryImageKind } from './trajectories-repository';
export type { NewRun, EndedRunStatus } from './runs-repository';
export { classifierViewAt, newSampleFrom, type FinishedSample } from './engine-sample';
export { importRecipe } from './recipes';
