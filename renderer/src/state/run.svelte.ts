/** The run in progress: its progress, live x̂₀ previews and the samples it has finished. */
import type { SampleRecord } from '../../../common/contract/gallery';
import type { PreviewImage, RunEvent, StudioApi } from '../../../common/contract/studio-api';
import type { RunRequest } from '../../../common/contract/run-request';
import type { QueueEntry } from '../../../common/contract/queue';

/** `interrupted`: the studio stopped while the run went, so it ended neither by a cancel nor by a failure. */
export type RunPhase = 'idle' | 'starting' | 'running' | 'cancelling' | 'completed' | 'cancelled' | 'failed' | 'interrupted';

export class RunState {
  phase = $state<RunPhase>('idle');
  jobId = $state<number | null>(null);
  request = $state.raw<RunRequest | null>(null);
  step = $state(0);
  totalSteps = $state(0);
  batchIndex = $state(0);
  batchCount = $state(1);
  stepsPerSecond = $state(0);
  secondsLeft = $state(0);
  activeProvider = $state<string | null>(null);
  previews = $state.raw<PreviewImage[]>([]);
  finished = $state.raw<SampleRecord[]>([]);
  message = $state<string | null>(null);
  private earlyEvents: RunEvent[] = [];
  /** Whether this page asked to cancel the run it follows. */
  private cancelRequested = false;
  /** Runs this page queued while another was going; the view follows each when it starts. */
  private queuedJobIds: number[] = [];

  readonly busy = $derived(this.phase === 'starting' || this.phase === 'running' || this.phase === 'cancelling');
  /** Fraction of the whole run, batches included. */
  readonly fraction = $derived(
    this.totalSteps === 0 ? 0 : (this.batchIndex * this.totalSteps + this.step) / (this.batchCount * this.totalSteps),
  );

  constructor(private readonly api: StudioApi) {}

  /** Starts a run; while another is going it is queued instead, and followed once it starts. */
  async start(request: RunRequest, recordTrajectory: boolean): Promise<void> {
    if (this.busy) {
      const { jobId } = await this.api.startRun({ request, recordTrajectory });
      this.queuedJobIds = [...this.queuedJobIds, jobId];
      return;
    }
    await this.follow(request, () => this.api.startRun({ request, recordTrajectory }));
  }

  /** Draws the seeds a stopped gallery run lacks, into that run. */
  async finish(runId: number, recordTrajectory: boolean): Promise<void> {
    await this.follow(null, () => this.api.finishRun({ runId, recordTrajectory }));
  }

  /** Queues a job and follows its events; `request` is null until the job reports what it draws. */
  private async follow(request: RunRequest | null, queue: () => Promise<{ jobId: number }>): Promise<void> {
    if (this.busy) return;
    this.phase = 'starting';
    this.jobId = null;
    this.request = request;
    this.resetProgress();
    try {
      const { jobId } = await queue();
      this.jobId = jobId;
      if (this.phase === 'starting') this.phase = 'running';
      // Events may overtake the reply that names the job; replay the ones that belong to it.
      const early = this.earlyEvents.filter((event) => event.jobId === jobId);
      this.earlyEvents = [];
      for (const event of early) this.handle(event);
    } catch (error) {
      this.phase = 'failed';
      this.message = (error as Error).message;
    }
  }

  /** Switches the view to a run this page queued, now that it has started. */
  private followQueued(jobId: number): void {
    this.queuedJobIds = this.queuedJobIds.filter((queued) => queued !== jobId);
    this.jobId = jobId;
    this.phase = 'running';
    this.request = null;
    this.resetProgress();
  }

  /** A new run starts from nothing: no step, rate or time left of the run before it shows meanwhile. */
  private resetProgress(): void {
    this.cancelRequested = false;
    this.step = 0;
    this.totalSteps = 0;
    this.batchIndex = 0;
    this.batchCount = 1;
    this.stepsPerSecond = 0;
    this.secondsLeft = 0;
    this.previews = [];
    this.finished = [];
    this.message = null;
  }

  async cancel(): Promise<void> {
    if (!this.busy || this.jobId === null) return;
    this.cancelRequested = true;
    this.phase = 'cancelling';
    await this.api.cancelRun({ jobId: this.jobId });
  }

  /**
   * After the service restarted: the run followed is read back from the queue, which keeps it
   * across restarts. Still waiting or going, it is followed again; ended, the view says how.
   */
  restore(entries: readonly QueueEntry[]): void {
    // A studio that shuts down stops its run as if cancelled and puts it back in the queue: unless
    // this page asked for the cancel, the queue says what really became of it.
    const stoppedByShutdown = this.phase === 'cancelled' && !this.cancelRequested;
    if ((!this.busy && !stoppedByShutdown) || this.jobId === null) return;
    const entry = entries.find((candidate) => candidate.jobId === this.jobId);
    if (!entry && stoppedByShutdown) return;
    if (!entry) {
      this.phase = 'interrupted';
      this.message = 'The studio stopped while this run was going; its finished samples are in the gallery, and Finish run in their details draws the rest.';
      return;
    }
    if (entry.status === 'running' || entry.status === 'queued' || entry.status === 'paused') {
      this.phase = 'running';
      this.stepsPerSecond = 0;
      this.message = entry.status === 'running' ? null : 'The studio restarted; this run waits in the queue and goes on from the seeds it lacks.';
      return;
    }
    this.phase = entry.status;
    this.message = entry.error;
  }

  /** Events of sweeps are handled by the sweep state; this follows only single runs. */
  handle(event: RunEvent): void {
    if (event.sweepId !== null) return;
    if (this.jobId === null) {
      if (this.phase === 'starting') this.earlyEvents.push(event);
      return;
    }
    if (event.jobId !== this.jobId && event.type === 'started' && !this.busy && this.queuedJobIds.includes(event.jobId)) this.followQueued(event.jobId);
    if (event.jobId !== this.jobId) return;
    switch (event.type) {
      case 'started':
        this.request = event.request;
        this.totalSteps = event.totalSteps;
        this.batchCount = Math.ceil(event.request.seeds.length / event.request.batchSize);
        this.activeProvider = event.activeProvider;
        if (this.phase === 'starting') this.phase = 'running';
        break;
      case 'step':
        this.step = event.step;
        this.totalSteps = event.totalSteps;
        this.batchIndex = event.batchIndex;
        this.batchCount = event.batchCount;
        this.stepsPerSecond = event.stepsPerSecond;
        this.secondsLeft = event.secondsLeft;
        if (event.previews.length > 0) this.previews = event.previews;
        break;
      case 'sample':
        this.finished = [...this.finished, event.sample];
        break;
      case 'finished':
        this.phase = event.status;
        this.message = event.message;
        if (event.status === 'completed') this.secondsLeft = 0;
        break;
    }
  }
}
