/**
 * Runs, sweeps and finish-runs: each request is checked against its model when it arrives,
 * then queued as an entry that draws into one gallery run. An entry stopped by a crash or a
 * restart carries on in the same run, drawing only the seeds it still lacks.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { STOPPED_RUN_STATUSES } from '../../common/contract/gallery';
import type { QueueEntryKind } from '../../common/contract/queue';
import { scheduleText } from '../../common/contract/guidance-schedule-text';
import { DEFAULT_CFG_SCALE, RecordedRunRequest, variationProblem, type ComparedSetting, type RunRequest } from '../../common/contract/run-request';
import { SWEEP_RECIPE_FORMAT, type GridSweepRequest, type SweepRecipe } from '../../common/contract/sweep-grid';
import { NOISE_ALGORITHM } from '../../common/diffusion/rng';
import type { ParsedRequestOf, ResponseOf, RunEvent } from '../../common/contract/studio-api';
import type { ModelManifest } from '../../common/models/manifest';
import { modelSha256 } from '../../common/models/model-identity';
import { planRun, RunRequestError, type RunPlan } from '../../common/models/run-plan';
import { planSweepCells, type PlannedSweepCell } from '../../common/models/sweep-plan';
import type { Gallery } from '../gallery';
import type { NewQueueEntry, StoredQueueEntry } from '../gallery/queue-repository';
import type { Engine } from '../inference';
import { stepPlacementProblem } from '../inference/step-placement';
import type { JobControl, JobKind, JobQueue } from './job-queue';
import type { JobOutcome } from './job-outcome';
import type { ModelCatalog } from './model-catalog';
import { MAX_QUEUED_JOBS } from './request-checks';
import { RecipeReadError } from '../png/recipe-chunk';
import { readSweepRecipe, withSweepRecipe } from '../png/sweep-chunk';
import { executeRunJob, type InProcessRun } from './run-job';
import { UserFacingError } from './user-facing-error';

const RUN_KINDS: readonly QueueEntryKind[] = ['run', 'sweep-cell', 'finish-run'];

/** How a sentence names each setting an A/B comparison may change. */
const COMPARED_SETTING_NAMES: Readonly<Record<ComparedSetting, string>> = {
  classIndex: 'class',
  scale: 'guidance scale',
  guidanceSchedule: 'scale over t',
  sampler: 'sampler',
  steps: 'steps',
  cfgScale: 'classifier-free weight w',
  eta: 'η',
};

/** What a run entry keeps in the queue: the request as asked, and the stopped run it finishes. */
const RunEntryPayload = z.object({
  request: RecordedRunRequest,
  recordTrajectory: z.boolean(),
  finishesRunId: z.number().int().positive().nullable(),
  /** Drawn from noise only the queuing process holds, so no other studio can carry it on. */
  replaysNoise: z.boolean().default(false),
});
type RunEntryPayload = z.infer<typeof RunEntryPayload>;

/** An entry about to be queued, with its request as parsed and planned on arrival. */
interface PlannedEntry {
  entry: NewQueueEntry;
  payload: RunEntryPayload;
  plan: RunPlan;
}

export interface RunOperationsOptions {
  engine: Engine;
  gallery: Gallery;
  catalog: ModelCatalog;
  queue: JobQueue;
  appVersion: string;
  emit(event: RunEvent): void;
}

export class RunOperations implements JobKind {
  /** In-process extras of the runs this process queued, by job id. */
  private readonly inProcess = new Map<number, InProcessRun>();
  /**
   * Entries this process queued, as parsed and planned when they arrived, by job id: they go
   * to the sampler as they are. Entries read back from the gallery (after a restart) are
   * parsed and planned once when they start.
   */
  private readonly planned = new Map<number, { payload: RunEntryPayload; plan: RunPlan }>();

  constructor(private readonly options: RunOperationsOptions) {
    options.queue.register(RUN_KINDS, this);
  }

  async startRun({ request, recordTrajectory }: ParsedRequestOf<'startRun'>): Promise<ResponseOf<'startRun'>> {
    const [queued] = this.enqueue([await this.entryFor({ request, recordTrajectory, finishesRunId: null, replaysNoise: false }, 'run', null)]);
    return { jobId: queued!.id };
  }

  /** Queues a run as `startRun` does, with what only this process can hand it (the command line's replayed noise, its wish for the engine's result). */
  async startInProcessRun(request: RunRequest, recordTrajectory: boolean, extras: InProcessRun): Promise<ResponseOf<'startRun'>> {
    const [queued] = this.enqueue([await this.entryFor({ request, recordTrajectory, finishesRunId: null, replaysNoise: extras.noise !== undefined }, 'run', null)]);
    this.inProcess.set(queued!.id, extras);
    return { jobId: queued!.id };
  }

  async startSweep(request: ParsedRequestOf<'startSweep'>): Promise<ResponseOf<'startSweep'>> {
    const sweepId = randomUUID();
    const entries: PlannedEntry[] = [];
    for (const scale of request.scales) {
      const payload: RunEntryPayload = { request: { ...request.request, scale }, recordTrajectory: request.recordTrajectory, finishesRunId: null, replaysNoise: false };
      entries.push(await this.entryFor(payload, 'sweep-cell', sweepId));
    }
    const queued = this.enqueue(entries);
    return { sweepId, jobs: queued.map((entry, index) => ({ jobId: entry.id, scale: request.scales[index]! })) };
  }

  /** Queues one cell per pair of axis values, row by row, after checking every cell against the model. */
  async startGridSweep(sweep: ParsedRequestOf<'startGridSweep'>): Promise<ResponseOf<'startGridSweep'>> {
    const sweepId = randomUUID();
    const manifest = await this.options.catalog.manifestOf(sweep.request.modelId);
    const cells = this.planCells(manifest, sweep);
    const entries = cells.map(({ request }) =>
      this.entryOf({ request, recordTrajectory: sweep.recordTrajectory, finishesRunId: null, replaysNoise: false }, 'sweep-cell', sweepId, manifest, request.seeds),
    );
    const queued = this.enqueue(entries);
    return { sweepId, cells: queued.map((entry, index) => ({ jobId: entry.id, x: cells[index]!.x, y: cells[index]!.y })) };
  }

  /** The page's grid PNG with the sweep's recipe in its text chunk, named after the model and the axes. */
  async tagSweepGrid({ png, sweep }: ParsedRequestOf<'tagSweepGrid'>): Promise<ResponseOf<'tagSweepGrid'>> {
    const manifest = await this.options.catalog.manifestOf(sweep.request.modelId);
    const recipe: SweepRecipe = {
      kind: 'sweep',
      format: SWEEP_RECIPE_FORMAT,
      model: { id: manifest.id, sha256: modelSha256(manifest) },
      sweep,
      noiseAlgorithm: NOISE_ALGORITHM,
      appVersion: this.options.appVersion,
    };
    let tagged: Uint8Array;
    try {
      tagged = withSweepRecipe(Buffer.from(png, 'base64'), recipe);
    } catch (error) {
      if (error instanceof RecipeReadError) throw new UserFacingError(`The grid image could not be saved: ${error.message}`);
      throw error;
    }
    const axes = [sweep.x, ...(sweep.y === undefined ? [] : [sweep.y])].map((axis) => axis.setting).join('-x-');
    return { fileName: `${manifest.id}-sweep-${axes}.png`, png: Buffer.from(tagged).toString('base64') };
  }

  /** The sweep a grid PNG was made by, checked against the installed model. */
  async readSweepGrid({ png }: ParsedRequestOf<'readSweepGrid'>): Promise<ResponseOf<'readSweepGrid'>> {
    let recipe: SweepRecipe;
    try {
      recipe = readSweepRecipe(Buffer.from(png, 'base64'));
    } catch (error) {
      if (error instanceof RecipeReadError) throw new UserFacingError(error.message);
      throw error;
    }
    const manifest = await this.options.catalog.manifestOf(recipe.model.id);
    this.planCells(manifest, recipe.sweep);
    const warnings: string[] = [];
    if (modelSha256(manifest) !== recipe.model.sha256) warnings.push(`The installed model "${manifest.id}" has other weights than the one that made this grid, so a re-run will differ.`);
    if (recipe.noiseAlgorithm !== NOISE_ALGORITHM) warnings.push(`The grid was made with noise generator "${recipe.noiseAlgorithm.slice(0, 60)}"; this studio draws noise with "${NOISE_ALGORITHM}", so the same seeds give other images.`);
    return { sweep: recipe.sweep, warning: warnings.length > 0 ? warnings.join(' ') : null };
  }

  async finishRun({ runId, recordTrajectory }: ParsedRequestOf<'finishRun'>): Promise<ResponseOf<'finishRun'>> {
    const run = this.options.gallery.runs.get(runId);
    if (run === undefined) throw new UserFacingError(`Run ${runId} is not in the gallery.`);
    if (run.evaluationId !== null) {
      throw new UserFacingError(`Run ${runId} belongs to evaluation ${run.evaluationId}; resume that evaluation instead, and it draws what it lacks.`);
    }
    if (!STOPPED_RUN_STATUSES.includes(run.status)) {
      throw new UserFacingError(`Run ${runId} is ${run.status}; only a run that stopped early (interrupted, cancelled or failed) can be finished.`);
    }
    const seeds = this.options.gallery.runs.missingSeeds(runId);
    if (seeds.length === 0) throw new UserFacingError(`Run ${runId} already has a sample for every seed; there is nothing left to draw.`);
    const manifest = await this.sameModelAs(run.modelId, run.modelSha256, runId);
    const entry = this.entryOf({ request: run.request, recordTrajectory, finishesRunId: runId, replaysNoise: false }, 'finish-run', null, manifest, seeds);
    // Checked after the last await, so two quick requests cannot both queue the run.
    const carrying = this.options.queue.active().find((active) => RUN_KINDS.includes(active.kind) && (active.runId === runId || this.payloadOf(active).finishesRunId === runId));
    if (carrying !== undefined && (carrying.status !== 'paused' || !this.options.gallery.queue.holds(carrying.id))) {
      throw new UserFacingError(`Run ${runId} is already being finished.`);
    }
    if (carrying !== undefined) {
      // The entry that drew the run is held in this studio's queue (taken over after a crash, say): it goes first and finishes it.
      this.options.queue.runNext(carrying.id);
      return { jobId: carrying.id };
    }
    const [queued] = this.enqueue([entry]);
    return { jobId: queued!.id };
  }

  /**
   * Queues the fork of a sample: its recorded request on its own seed, the steps before `step`
   * replayed (the seed's noise gives the parent's xₜ there), the steps from it with the changes.
   */
  async forkSample({ sampleId, step, changes }: ParsedRequestOf<'forkSample'>): Promise<ResponseOf<'forkSample'>> {
    const { request, seed } = this.recordedSample(sampleId);
    if (request.switchAt !== undefined) {
      throw new UserFacingError(`Sample ${sampleId} already switches its settings at step ${request.switchAt.step}, and a run switches once; fork the sample it came from instead.`);
    }
    const fork: RunRequest = { ...request, seeds: [seed], batchSize: 1, switchAt: { ...changes, step }, forkOf: { sampleId, step } };
    return this.startLinkedRun(fork);
  }

  /** Queues run B of an A/B comparison: sample A's request with one setting changed, on A's seed. */
  async compareSample(comparison: ParsedRequestOf<'compareSample'>): Promise<ResponseOf<'compareSample'>> {
    const { request, seed } = this.recordedSample(comparison.sampleId);
    // What the sampler read for a setting the request leaves out: a constant schedule, the default w.
    const current: unknown =
      comparison.setting === 'guidanceSchedule' ? (request.guidanceSchedule ?? { kind: 'constant' }) : comparison.setting === 'cfgScale' ? (request.cfgScale ?? DEFAULT_CFG_SCALE) : request[comparison.setting];
    if (JSON.stringify(current) === JSON.stringify(comparison.value)) {
      const shown = comparison.setting === 'guidanceSchedule' ? scheduleText(comparison.value) : String(comparison.value);
      throw new UserFacingError(`Sample ${comparison.sampleId} already has ${COMPARED_SETTING_NAMES[comparison.setting]} ${shown}; pick another value to compare with.`);
    }
    const compared: RunRequest = {
      ...request,
      [comparison.setting]: comparison.value,
      seeds: [seed],
      batchSize: 1,
      comparedWith: { sampleId: comparison.sampleId, setting: comparison.setting },
    };
    return this.startLinkedRun(compared);
  }

  async cancelRun({ jobId }: ParsedRequestOf<'cancelRun'>): Promise<ResponseOf<'cancelRun'>> {
    return { cancelled: this.options.queue.cancel(jobId) };
  }

  // ------------------------------------------------------------ the queue's side

  async execute(entry: StoredQueueEntry, control: JobControl): Promise<JobOutcome> {
    const planned = this.planned.get(entry.id);
    this.planned.delete(entry.id);
    const payload = planned?.payload ?? this.payloadOf(entry);
    const inProcess = this.inProcess.get(entry.id);
    this.inProcess.delete(entry.id);
    if (payload.replaysNoise && inProcess === undefined) {
      return { status: 'failed', message: `Job ${entry.id} replays noise from files that only the command which queued it had; run that command again with --noise-from.` };
    }
    const continuedRunId = entry.runId ?? payload.finishesRunId;
    let request: RunRequest = payload.request;
    let samplesBefore = 0;
    if (continuedRunId !== null) {
      const run = this.options.gallery.runs.get(continuedRunId);
      if (run === undefined) return { status: 'failed', message: `Run ${continuedRunId} is no longer in the gallery, so job ${entry.id} has nothing to carry on.` };
      const seeds = this.options.gallery.runs.missingSeeds(continuedRunId);
      samplesBefore = run.request.seeds.length - seeds.length;
      if (seeds.length === 0) {
        if (run.status !== 'completed') this.options.gallery.runs.end(this.options.gallery.runs.reopen(continuedRunId).id, 'completed');
        control.progress(samplesBefore);
        return { status: 'completed', message: null };
      }
      await this.sameModelAs(run.modelId, run.modelSha256, continuedRunId);
      request = { ...run.request, seeds };
    }
    const { manifest, dir } = await this.options.catalog.find(request.modelId);
    control.progress(samplesBefore);
    return executeRunJob(
      {
        jobId: entry.id,
        sweepId: entry.sweepId,
        request,
        finishesRunId: continuedRunId,
        recordTrajectory: payload.recordTrajectory,
        plan: planned?.plan ?? this.plan(manifest, request),
        manifest,
        modelDir: dir,
        samplesBefore,
        ...(inProcess ? { inProcess } : {}),
      },
      {
        engine: this.options.engine,
        gallery: this.options.gallery,
        appVersion: this.options.appVersion,
        emit: this.options.emit,
        prepareModel: (modelId, provider) => this.options.catalog.prepare(modelId, provider),
      },
      control,
    );
  }

  cancelledWhileWaiting(entry: StoredQueueEntry): void {
    this.inProcess.delete(entry.id);
    this.planned.delete(entry.id);
    this.options.emit({ jobId: entry.id, sweepId: entry.sweepId, type: 'finished', status: 'cancelled', message: null, sampleCount: 0 });
  }

  // ------------------------------------------------------------ checks on arrival

  /** A sample's recorded request (without the links of its own run and its step placement) and its seed. */
  private recordedSample(sampleId: number): { request: RunRequest; seed: number } {
    const detail = this.options.gallery.samples.detail(sampleId);
    if (detail === undefined || detail === null) throw new UserFacingError(`Sample ${sampleId} is not in the gallery any more; it may have been deleted.`);
    // Forks and comparisons keep their trajectory, which only the host path records.
    const { forkOf: _fork, comparedWith: _comparison, stepsOn: _stepsOn, ...request } = detail.run.request;
    return { request, seed: detail.sample.seed };
  }

  /** Queues a fork or comparison run with its trajectory, checked against its model as every run is. */
  private async startLinkedRun(request: RunRequest): Promise<ResponseOf<'startRun'>> {
    const [queued] = this.enqueue([await this.entryFor({ request, recordTrajectory: true, finishesRunId: null, replaysNoise: false }, 'run', null)]);
    return { jobId: queued!.id };
  }

  private enqueue(entries: PlannedEntry[]): StoredQueueEntry[] {
    const queued = this.options.queue.add(
      entries.map((planned) => planned.entry),
      { kinds: RUN_KINDS, limit: MAX_QUEUED_JOBS, what: 'jobs' },
    );
    queued.forEach((stored, index) => this.planned.set(stored.id, { payload: entries[index]!.payload, plan: entries[index]!.plan }));
    return queued;
  }

  private payloadOf(entry: StoredQueueEntry): RunEntryPayload {
    return RunEntryPayload.parse(entry.payload);
  }

  /** Checks the request against the model now, so a mistake is answered before anything is queued. */
  private async entryFor(payload: RunEntryPayload, kind: QueueEntryKind, sweepId: string | null): Promise<PlannedEntry> {
    const manifest = await this.options.catalog.manifestOf(payload.request.modelId);
    return this.entryOf(payload, kind, sweepId, manifest, payload.request.seeds);
  }

  private entryOf(payload: RunEntryPayload, kind: QueueEntryKind, sweepId: string | null, manifest: ModelManifest, seedsToDraw: readonly number[]): PlannedEntry {
    const { request } = payload;
    const plan = this.plan(manifest, { ...request, seeds: [...seedsToDraw] });
    const placementProblem = stepPlacementProblem(request, plan, payload.recordTrajectory);
    if (placementProblem !== null) throw new UserFacingError(placementProblem);
    const className = manifest.classes.names[request.classIndex] ?? `class ${request.classIndex}`;
    const count = request.seeds.length;
    const entry: NewQueueEntry = {
      kind,
      payload,
      label: `${manifest.name} · ${className} · scale ${request.scale} · ${request.sampler} ${request.steps} · ${count} image${count === 1 ? '' : 's'}`,
      sweepId,
      runId: payload.finishesRunId,
      totalSamples: count,
    };
    return { entry, payload, plan };
  }

  /** Every cell of a sweep planned; the first one the model cannot run is refused, named, with the planner's sentence. */
  private planCells(manifest: ModelManifest, sweep: GridSweepRequest): PlannedSweepCell[] {
    try {
      return planSweepCells(manifest, sweep);
    } catch (error) {
      if (error instanceof RunRequestError) throw new UserFacingError(error.message);
      throw error;
    }
  }

  /** What the request means for the model; a request the model cannot run is refused with the planner's sentence. */
  private plan(manifest: ModelManifest, request: RunRequest): RunPlan {
    const problem = variationProblem(request);
    if (problem !== null) throw new UserFacingError(problem);
    try {
      return planRun(manifest, request);
    } catch (error) {
      throw new UserFacingError((error as Error).message);
    }
  }

  /** The installed model, refused when its weights changed since the run was drawn (the rest would not match). */
  private async sameModelAs(modelId: string, drawnWith: string, runId: number): Promise<ModelManifest> {
    const manifest = await this.options.catalog.manifestOf(modelId);
    if (modelSha256(manifest) !== drawnWith) {
      throw new UserFacingError(
        `Model "${modelId}" has changed since run ${runId} was drawn, so its missing samples would not match the rest. Start a new run with its settings instead.`,
      );
    }
    return manifest;
  }
}
