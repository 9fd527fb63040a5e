/**
 * StudioService: every operation of the studio, in plain TypeScript. Electron IPC, the `serve`
 * bridge and tests call it the same way; it composes the inference engine and the gallery and
 * runs one sampling job at a time, in the order they were asked for.
 */
import { randomUUID } from 'node:crypto';
import type { ProviderName, RunRequest } from '../../common/contract/run-request';
import type {
  ImageRef,
  LoadedModel,
  ModelFolderProblem,
  ModelInfo,
  ParsedRequestOf,
  ResponseOf,
  RunEvent,
  StudioHandlers,
  Unsubscribe,
} from '../../common/contract/studio-api';
import type { ModelManifest } from '../../common/models/manifest';
import { STOPPED_RUN_STATUSES } from '../../common/contract/gallery';
import { planRun } from '../../common/models/run-plan';
import { type Gallery } from '../gallery';
import { modelFingerprint, modelSha256 } from '../../common/models/model-identity';
import type { Engine, ModelScan, ModelSummary } from '../inference';
import { modelInfoOf } from './model-catalog';
import { EvaluationService } from './evaluation-service';
import { executeRunJob, type RunJob } from './run-job';
import { checkPresetAgainstModel, checkQueueRoom } from './request-checks';
import { UserFacingError } from './user-facing-error';

export interface StudioServiceOptions {
  engine: Engine;
  gallery: Gallery;
  appVersion: string;
}

export class StudioService implements StudioHandlers {
  private readonly engine: Engine;
  private readonly gallery: Gallery;
  private readonly appVersion: string;
  private readonly listeners = new Set<(event: RunEvent) => void>();
  private readonly queue: RunJob[] = [];
  private running: RunJob | null = null;
  private idle: Promise<void> = Promise.resolve();
  private nextJobId = 1;
  /** Provider of each model whose sessions are open, by model id and requested provider. */
  private readonly openProviders = new Map<string, string>();
  private models: ModelScan | null = null;
  readonly evaluations: EvaluationService;

  constructor(options: StudioServiceOptions) {
    this.engine = options.engine;
    this.gallery = options.gallery;
    this.appVersion = options.appVersion;
    this.evaluations = new EvaluationService({
      engine: options.engine,
      gallery: options.gallery,
      appVersion: options.appVersion,
      prepareModel: (modelId, provider) => this.prepareModel(modelId, provider),
    });
  }

  onRunEvent(listener: (event: RunEvent) => void): Unsubscribe {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(event: RunEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  // ------------------------------------------------------------ models

  private async modelScan(): Promise<ModelScan> {
    this.models ??= await this.engine.scanModels();
    return this.models;
  }

  private async modelSummaries(): Promise<ModelSummary[]> {
    return (await this.modelScan()).models;
  }

  private async summaryOf(modelId: string): Promise<ModelSummary> {
    const summary = (await this.modelSummaries()).find((model) => model.id === modelId);
    if (!summary) {
      const known = (await this.modelSummaries()).map((model) => `"${model.id}"`).join(', ') || 'none';
      throw new UserFacingError(`There is no model "${modelId}" in this studio (available: ${known}). Pick one of those, or add its folder.`);
    }
    return summary;
  }

  private async manifestOf(modelId: string): Promise<ModelManifest> {
    return (await this.summaryOf(modelId)).manifest;
  }

  async listModels(): Promise<ModelInfo[]> {
    const summaries = await this.modelSummaries();
    return summaries.map((summary) => modelInfoOf(summary.manifest, this.openProviders.get(`${summary.id}/auto`) ?? null));
  }

  async listModelProblems(): Promise<ModelFolderProblem[]> {
    return (await this.modelScan()).problems;
  }

  async loadModel(request: ParsedRequestOf<'loadModel'>): Promise<LoadedModel> {
    const info = await this.engine.loadModel(request.modelId, request.provider);
    this.gallery.models.register(info.manifest, modelSha256(info.manifest));
    this.openProviders.set(`${request.modelId}/${request.provider}`, info.provider);
    const fallbackNote =
      info.fallbacks.length === 0
        ? null
        : `${info.fallbacks.map((attempt) => `${attempt.provider.toUpperCase()} did not start (${attempt.error})`).join('; ')}; running on ${info.provider.toUpperCase()}.`;
    return { modelId: request.modelId, requestedProvider: request.provider, activeProvider: info.provider, fallbackNote, unetPrecision: info.unetPrecision };
  }

  private async prepareModel(modelId: string, provider: ProviderName): Promise<string> {
    const open = this.openProviders.get(`${modelId}/${provider}`);
    if (open !== undefined && this.gallery.models.get(modelId)) return open;
    return (await this.loadModel({ modelId, provider })).activeProvider;
  }

  // ------------------------------------------------------------ runs

  /** Checks the request against the model now, so a mistake is answered before anything is queued. */
  private async planJob(
    request: RunRequest,
    recordTrajectory: boolean,
    sweepId: string | null,
    finishesRunId: number | null = null,
  ): Promise<RunJob> {
    const { manifest, dir: modelDir } = await this.summaryOf(request.modelId);
    let stepsPerBatch: number;
    try {
      stepsPerBatch = planRun(manifest, request).diffusion.timestepMap.length;
    } catch (error) {
      throw new UserFacingError((error as Error).message);
    }
    return {
      jobId: this.nextJobId++,
      sweepId,
      request,
      finishesRunId,
      recordTrajectory,
      stepsPerBatch,
      manifest,
      modelDir,
      controller: new AbortController(),
    };
  }

  private enqueue(jobs: RunJob[]): void {
    checkQueueRoom(this.queue.length, jobs.length);
    this.queue.push(...jobs);
    // Start after the caller's reply has gone out, so the page knows the job id before its events.
    setImmediate(() => this.pump());
  }

  private pump(): void {
    if (this.running !== null) return;
    const job = this.queue.shift();
    if (!job) return;
    this.running = job;
    this.idle = executeRunJob(job, {
      engine: this.engine,
      gallery: this.gallery,
      appVersion: this.appVersion,
      emit: (event) => this.emit(event),
      prepareModel: (modelId, provider) => this.prepareModel(modelId, provider),
    }).finally(() => {
      this.running = null;
      this.pump();
    });
  }

  async startRun(request: ParsedRequestOf<'startRun'>): Promise<ResponseOf<'startRun'>> {
    const job = await this.planJob(request.request, request.recordTrajectory, null);
    this.enqueue([job]);
    return { jobId: job.jobId };
  }

  async startSweep(request: ParsedRequestOf<'startSweep'>): Promise<ResponseOf<'startSweep'>> {
    const sweepId = randomUUID();
    const jobs: RunJob[] = [];
    for (const scale of request.scales) {
      jobs.push(await this.planJob({ ...request.request, scale }, request.recordTrajectory, sweepId));
    }
    this.enqueue(jobs);
    return { sweepId, jobs: jobs.map((job) => ({ jobId: job.jobId, scale: job.request.scale })) };
  }

  async finishRun({ runId, recordTrajectory }: ParsedRequestOf<'finishRun'>): Promise<ResponseOf<'finishRun'>> {
    const run = this.gallery.runs.get(runId);
    if (run === undefined) throw new UserFacingError(`Run ${runId} is not in the gallery.`);
    if (run.evaluationId !== null) {
      throw new UserFacingError(`Run ${runId} belongs to evaluation ${run.evaluationId}; resume that evaluation instead, and it draws what it lacks.`);
    }
    if (!STOPPED_RUN_STATUSES.includes(run.status)) {
      throw new UserFacingError(`Run ${runId} is ${run.status}; only a run that stopped early (interrupted, cancelled or failed) can be finished.`);
    }
    const seeds = this.gallery.runs.missingSeeds(runId);
    if (seeds.length === 0) throw new UserFacingError(`Run ${runId} already has a sample for every seed; there is nothing left to draw.`);
    const manifest = await this.manifestOf(run.modelId);
    if (modelSha256(manifest) !== run.modelSha256) {
      throw new UserFacingError(
        `Model "${run.modelId}" has changed since run ${runId} was drawn, so its missing samples would not match the rest. Start a new run with its settings instead.`,
      );
    }
    const job = await this.planJob({ ...run.request, seeds }, recordTrajectory, null, runId);
    // Checked after the last await, so two quick requests cannot both queue the run.
    if ([this.running, ...this.queue].some((queued) => queued?.finishesRunId === runId)) {
      throw new UserFacingError(`Run ${runId} is already being finished.`);
    }
    this.enqueue([job]);
    return { jobId: job.jobId };
  }

  async cancelRun(request: ParsedRequestOf<'cancelRun'>): Promise<ResponseOf<'cancelRun'>> {
    if (this.running?.jobId === request.jobId) {
      this.running.controller.abort();
      return { cancelled: true };
    }
    const index = this.queue.findIndex((job) => job.jobId === request.jobId);
    if (index < 0) return { cancelled: false };
    const [job] = this.queue.splice(index, 1);
    this.emit({ jobId: job!.jobId, sweepId: job!.sweepId, type: 'finished', status: 'cancelled', message: null, sampleCount: 0 });
    return { cancelled: true };
  }

  // ------------------------------------------------------------ gallery

  async listSamples(query: ParsedRequestOf<'listSamples'>): Promise<ResponseOf<'listSamples'>> {
    return this.gallery.samples.list(query);
  }

  async getSample({ sampleId }: ParsedRequestOf<'getSample'>): Promise<ResponseOf<'getSample'>> {
    const detail = this.gallery.samples.detail(sampleId);
    if (!detail) throw new UserFacingError(`Sample ${sampleId} is not in the gallery any more; it may have been deleted.`);
    return detail;
  }

  async galleryFacets(): Promise<ResponseOf<'galleryFacets'>> {
    return this.gallery.samples.facets();
  }

  async editSample(change: ParsedRequestOf<'editSample'>): Promise<ResponseOf<'editSample'>> {
    return this.gallery.samples.edit(change);
  }

  async deleteSample({ sampleId }: ParsedRequestOf<'deleteSample'>): Promise<ResponseOf<'deleteSample'>> {
    return { deleted: this.gallery.samples.delete(sampleId) };
  }

  async exportPng({ sampleId }: ParsedRequestOf<'exportPng'>): Promise<ResponseOf<'exportPng'>> {
    const exported = this.gallery.exportPng(sampleId);
    return { fileName: exported.fileName, png: Buffer.from(exported.png).toString('base64') };
  }

  async readRecipe({ png }: ParsedRequestOf<'readRecipe'>): Promise<ResponseOf<'readRecipe'>> {
    const known = new Map((await this.modelSummaries()).map((model) => [model.id, model.manifest]));
    const imported = this.gallery.importPng(Buffer.from(png, 'base64'), (modelId) => {
      const manifest = known.get(modelId);
      return manifest ? { ...modelFingerprint(manifest), manifest } : undefined;
    });
    return { request: imported.request, warning: imported.warning };
  }

  async listPresets(): Promise<ResponseOf<'listPresets'>> {
    return this.gallery.presets.list();
  }

  async savePreset({ name, settings }: ParsedRequestOf<'savePreset'>): Promise<ResponseOf<'savePreset'>> {
    checkPresetAgainstModel(await this.manifestOf(settings.modelId), settings);
    return this.gallery.presets.save(name, settings);
  }

  async deletePreset({ presetId }: ParsedRequestOf<'deletePreset'>): Promise<ResponseOf<'deletePreset'>> {
    return { deleted: this.gallery.presets.delete(presetId) };
  }

  // ------------------------------------------------------------ evaluations

  async startEvaluation(spec: ParsedRequestOf<'startEvaluation'>): Promise<ResponseOf<'startEvaluation'>> {
    return this.evaluations.startEvaluation(spec);
  }

  async resumeEvaluation({ evaluationId }: ParsedRequestOf<'resumeEvaluation'>): Promise<ResponseOf<'resumeEvaluation'>> {
    return this.evaluations.resumeEvaluation(evaluationId);
  }

  async cancelEvaluation({ evaluationId }: ParsedRequestOf<'cancelEvaluation'>): Promise<ResponseOf<'cancelEvaluation'>> {
    return { cancelled: this.evaluations.cancelEvaluation(evaluationId) };
  }

  async listEvaluations(): Promise<ResponseOf<'listEvaluations'>> {
    return this.evaluations.listEvaluations();
  }

  async getEvaluation({ evaluationId }: ParsedRequestOf<'getEvaluation'>): Promise<ResponseOf<'getEvaluation'>> {
    return this.evaluations.viewEvaluation(evaluationId);
  }

  /** PNG bytes of an image the page shows by URL, or null when there is none. */
  async readImage(ref: ImageRef): Promise<Uint8Array | null> {
    switch (ref.kind) {
      case 'sample':
        return this.gallery.samples.image(ref.sampleId) ?? null;
      case 'thumbnail':
        return this.gallery.samples.thumbnail(ref.sampleId) ?? this.gallery.samples.image(ref.sampleId) ?? null;
      case 'xt':
      case 'x0':
        return this.gallery.trajectories.image(ref.sampleId, ref.step, ref.kind) ?? null;
    }
  }

  /** Cancels every job, waits for the running one to write its last sample, and closes engine and gallery. */
  async close(): Promise<void> {
    for (const job of this.queue.splice(0)) job.controller.abort();
    this.running?.controller.abort();
    await this.idle;
    await this.evaluations.close();
    await this.engine.close();
    this.gallery.close();
  }
}
