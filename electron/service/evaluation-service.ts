/**
 * The evaluation jobs of the studio: start, resume, cancel, list and read evaluations, and
 * subscribe to their events. Jobs run one at a time in the order they were asked for.
 * StudioService composes this; the command line uses it directly.
 */
import type { EvaluationProgress, EvaluationView } from '../../common/contract/evaluation';
import type { EvaluationRecord, EvaluationSpecInput } from '../../common/contract/gallery';
import { describeProblems, quoteStart } from '../../common/contract/bounds';
import { EvaluationSpec } from '../../common/contract/gallery';
import type { ProviderName } from '../../common/contract/run-request';
import { modelSha256 } from '../../common/models/model-identity';
import type { Gallery } from '../gallery';
import type { Engine } from '../inference';
import { openEvaluator, type EvaluatorNetwork } from '../inference/evaluator-network';
import { OnnxMatrixKernels } from '../inference/linalg-kernels';
import type { MatrixKernels } from '../metrics/matrix-kernels';
import { DEFAULT_NEIGHBOURHOOD } from '../metrics/precision-recall';
import type { EvaluationEvent } from './evaluation-events';
import { executeEvaluation } from './evaluation-job';
import { checkEvaluationAgainstModel, checkQueueRoom, MAX_QUEUED_EVALUATIONS } from './request-checks';
import { UserFacingError } from './user-facing-error';

export interface EvaluationServiceOptions {
  engine: Engine;
  gallery: Gallery;
  appVersion: string;
  provider?: ProviderName;
  /** CPU threads for the evaluator and the metrics' matrix products; 0 lets onnxruntime decide. */
  threads?: number;
  batchSize?: number;
  /** Registers a model in the gallery and opens its sessions; the service's own when it has one. */
  prepareModel?(modelId: string, provider: ProviderName): Promise<string>;
}

interface QueuedEvaluation {
  evaluationId: number;
  controller: AbortController;
}

export class EvaluationService {
  private readonly listeners = new Set<(event: EvaluationEvent) => void>();
  private readonly queue: QueuedEvaluation[] = [];
  private running: QueuedEvaluation | null = null;
  private idle: Promise<void> = Promise.resolve();
  private readonly kernels: MatrixKernels & { release(): Promise<void> };
  /** Latest progress of the running evaluation. */
  private progress: { evaluationId: number; progress: EvaluationProgress } | null = null;

  constructor(private readonly options: EvaluationServiceOptions) {
    this.kernels = new OnnxMatrixKernels(options.threads ? { threads: options.threads } : {});
  }

  onEvaluationEvent(listener: (event: EvaluationEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(event: EvaluationEvent): void {
    if (event.type === 'progress') {
      const { phase, scale, doneSamples, totalSamples } = event;
      this.progress = { evaluationId: event.evaluationId, progress: { phase, scale, doneSamples, totalSamples } };
    } else if (event.type === 'finished') {
      this.progress = null;
    }
    for (const listener of this.listeners) listener(event);
  }

  private async modelDir(modelId: string): Promise<string> {
    const models = await this.options.engine.listModels();
    const model = models.find((candidate) => candidate.id === modelId);
    if (!model) {
      const known = models.map((candidate) => `"${candidate.id}"`).join(', ') || 'none';
      throw new UserFacingError(`There is no model ${quoteStart(modelId)} in this studio (available: ${known}). Pick one of those, or add its folder.`);
    }
    return model.dir;
  }

  private async prepareModel(modelId: string, provider: ProviderName): Promise<string> {
    if (this.options.prepareModel) return this.options.prepareModel(modelId, provider);
    const info = await this.options.engine.loadModel(modelId, provider);
    this.options.gallery.models.register(info.manifest, modelSha256(info.manifest));
    return info.provider;
  }

  private async openEvaluator(modelId: string): Promise<EvaluatorNetwork> {
    return openEvaluator(await this.modelDir(modelId), { provider: this.options.provider ?? 'auto', threads: this.options.threads ?? 0 });
  }

  private checkQueueRoom(): void {
    checkQueueRoom(this.queue.length, 1, MAX_QUEUED_EVALUATIONS, 'evaluations');
  }

  private enqueue(evaluationId: number): void {
    this.queue.push({ evaluationId, controller: new AbortController() });
    setImmediate(() => this.pump());
  }

  private pump(): void {
    if (this.running !== null) return;
    const next = this.queue.shift();
    if (!next) return;
    this.running = next;
    this.idle = executeEvaluation(
      next.evaluationId,
      {
        engine: this.options.engine,
        gallery: this.options.gallery,
        appVersion: this.options.appVersion,
        kernels: this.kernels,
        openEvaluator: (modelId) => this.openEvaluator(modelId),
        prepareModel: (modelId, provider) => this.prepareModel(modelId, provider),
        emit: (event) => this.emit(event),
        ...(this.options.provider ? { provider: this.options.provider } : {}),
        ...(this.options.batchSize ? { batchSize: this.options.batchSize } : {}),
      },
      next.controller.signal,
    ).finally(() => {
      this.running = null;
      this.pump();
    });
  }

  /** Records a new evaluation and queues it; the model must exist and have an evaluator. */
  async startEvaluation(input: EvaluationSpecInput): Promise<EvaluationRecord> {
    const parsed = EvaluationSpec.safeParse(input);
    if (!parsed.success) throw new UserFacingError(`The evaluation settings are not valid: ${describeProblems(parsed.error)}.`);
    if (parsed.data.samplesPerScale <= DEFAULT_NEIGHBOURHOOD) {
      throw new UserFacingError(`An evaluation needs at least ${DEFAULT_NEIGHBOURHOOD + 1} samples per scale: precision and recall use each sample's ${DEFAULT_NEIGHBOURHOOD}rd nearest neighbour.`);
    }
    this.checkQueueRoom();
    const evaluator = await this.openEvaluator(parsed.data.modelId);
    await evaluator.release();
    checkEvaluationAgainstModel(evaluator.manifest, parsed.data);
    // Checked again after the awaits: other starts may have filled the queue meanwhile.
    this.checkQueueRoom();
    this.options.gallery.models.register(evaluator.manifest, modelSha256(evaluator.manifest));
    const record = this.options.gallery.evaluations.create(parsed.data);
    this.enqueue(record.id);
    return record;
  }

  /** Queues an interrupted, cancelled or failed evaluation again; finished samples and scales are kept. */
  async resumeEvaluation(evaluationId: number): Promise<EvaluationRecord> {
    const record = this.getEvaluation(evaluationId);
    const active = this.running?.evaluationId === evaluationId || this.queue.some((queued) => queued.evaluationId === evaluationId);
    if (active) throw new UserFacingError(`Evaluation ${evaluationId} is already running or queued.`);
    if (record.status === 'completed') throw new UserFacingError(`Evaluation ${evaluationId} is complete; there is nothing to resume.`);
    this.checkQueueRoom();
    this.enqueue(evaluationId);
    return record;
  }

  cancelEvaluation(evaluationId: number): boolean {
    if (this.running?.evaluationId === evaluationId) {
      this.running.controller.abort();
      return true;
    }
    const index = this.queue.findIndex((queued) => queued.evaluationId === evaluationId);
    if (index < 0) return false;
    this.queue.splice(index, 1);
    this.options.gallery.evaluations.setStatus(evaluationId, 'cancelled');
    this.emit({ type: 'finished', evaluationId, status: 'cancelled', message: null });
    return true;
  }

  listEvaluations(): EvaluationRecord[] {
    return this.options.gallery.evaluations.list();
  }

  getEvaluation(evaluationId: number): EvaluationRecord {
    const record = this.options.gallery.evaluations.get(evaluationId);
    if (!record) throw new UserFacingError(`Evaluation ${evaluationId} is not in the gallery; list the evaluations to see which exist.`);
    return record;
  }

  /** The evaluation with where it is, if it is running here. */
  viewEvaluation(evaluationId: number): EvaluationView {
    const record = this.getEvaluation(evaluationId);
    const progress = this.progress?.evaluationId === evaluationId && record.status === 'running' ? this.progress.progress : null;
    return { record, progress };
  }

  /** Resolves when the running and queued evaluations have ended. */
  async whenIdle(): Promise<void> {
    while (this.running !== null || this.queue.length > 0) {
      await this.idle;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** Cancels everything, waits for the running job to stop, and frees the matrix sessions. */
  async close(): Promise<void> {
    for (const queued of this.queue.splice(0)) queued.controller.abort();
    this.running?.controller.abort();
    await this.idle;
    await this.kernels.release();
  }
}
