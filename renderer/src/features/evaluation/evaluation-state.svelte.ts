/** The evaluation page's state: the stored evaluations, the one shown, and following a running one. */
import type { EvaluationProgress, EvaluationRecord, EvaluationShards, EvaluationSpecInput } from '../../../../common/contract/evaluation';
import type { StudioApi } from '../../../../common/contract/studio-api';

/** How often a running evaluation is read again. */
const followIntervalMs = 500;

export class EvaluationState {
  evaluations = $state.raw<EvaluationRecord[]>([]);
  selectedId = $state<number | null>(null);
  progress = $state.raw<EvaluationProgress | null>(null);
  /** Shards and workers of the shown evaluation when it was drawn through a queue by this studio; else null. */
  shards = $state.raw<EvaluationShards | null>(null);
  error = $state<string | null>(null);
  readonly selected = $derived(this.evaluations.find((record) => record.id === this.selectedId) ?? null);
  readonly busy = $derived(this.evaluations.some((record) => record.status === 'running' || record.status === 'pending'));
  private timer: ReturnType<typeof setTimeout> | null = null;
  /**
   * Evaluations resumed from this page that the queue has not started yet: the service still
   * reads them as cancelled or interrupted until then, and the page shows them waiting.
   */
  private resuming: number[] = [];

  constructor(private readonly api: StudioApi) {}

  async refresh(): Promise<void> {
    this.evaluations = (await this.api.listEvaluations()).map((record) => (this.resuming.includes(record.id) ? { ...record, status: 'pending' as const } : record));
    if (this.selectedId === null || !this.evaluations.some((record) => record.id === this.selectedId)) {
      this.selectedId = this.evaluations[0]?.id ?? null;
    }
    await this.readShards();
    this.follow();
  }

  /** Reads the shown evaluation's shard view again. */
  async readShards(): Promise<void> {
    const evaluationId = this.selectedId;
    this.shards = evaluationId === null ? null : await this.api.getEvaluationShards({ evaluationId });
  }

  private replace(fetched: EvaluationRecord): void {
    if (fetched.status !== 'cancelled' && fetched.status !== 'interrupted' && fetched.status !== 'failed') this.resuming = this.resuming.filter((id) => id !== fetched.id);
    const record = this.resuming.includes(fetched.id) ? { ...fetched, status: 'pending' as const } : fetched;
    const others = this.evaluations.filter((existing) => existing.id !== record.id);
    this.evaluations = [record, ...others].sort((a, b) => b.id - a.id);
  }

  /** Reads the running evaluation again until it ends. */
  private follow(): void {
    if (this.timer !== null) return;
    const running = this.evaluations.find((record) => record.status === 'running' || record.status === 'pending');
    if (!running) {
      this.progress = null;
      return;
    }
    this.timer = setTimeout(async () => {
      this.timer = null;
      try {
        const view = await this.api.getEvaluation({ evaluationId: running.id });
        this.replace(view.record);
        this.progress = view.progress;
        if (this.selectedId === running.id) this.shards = await this.api.getEvaluationShards({ evaluationId: running.id });
      } catch (error) {
        this.error = (error as Error).message;
        return;
      }
      this.follow();
    }, followIntervalMs);
  }

  async start(spec: EvaluationSpecInput): Promise<void> {
    this.error = null;
    const record = await this.api.startEvaluation(spec);
    this.replace(record);
    this.selectedId = record.id;
    this.follow();
  }

  async resume(evaluationId: number): Promise<void> {
    this.error = null;
    const record = await this.api.resumeEvaluation({ evaluationId });
    this.resuming = [...this.resuming, evaluationId];
    this.replace(record);
    this.follow();
  }

  async cancel(evaluationId: number): Promise<void> {
    this.resuming = this.resuming.filter((id) => id !== evaluationId);
    await this.api.cancelEvaluation({ evaluationId });
  }

  dispose(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}
