/** The studio's job queue as the page shows it: entries with their progress, and the controls. */
import type { QueueEntry, QueueView } from '../../../common/contract/queue';
import type { RunEvent, StudioApi } from '../../../common/contract/studio-api';

/** How long the page waits after a run event before asking for the queue again, so a burst costs one request. */
const REFRESH_DELAY_MS = 150;
/** How often the queue is read while an entry runs: evaluations report no run events the page sees. */
const POLL_INTERVAL_MS = 1000;

export class QueueState {
  paused = $state(false);
  entries = $state.raw<QueueEntry[]>([]);
  message = $state<string | null>(null);
  readonly running = $derived(this.entries.filter((entry) => entry.status === 'running'));
  readonly waiting = $derived(this.entries.filter((entry) => entry.status === 'queued' || entry.status === 'paused'));
  readonly done = $derived(this.entries.filter((entry) => entry.status === 'completed' || entry.status === 'cancelled' || entry.status === 'failed'));
  /** Entries running or waiting, for the tab's count. */
  readonly openCount = $derived(this.running.length + this.waiting.length);
  private refreshTimer: ReturnType<typeof setTimeout> | undefined;
  private pollTimer: ReturnType<typeof setInterval> | undefined;
  /** Whether the panel is on screen; only then is the queue read on a timer. */
  private watched = false;

  constructor(private readonly api: StudioApi) {}

  async refresh(): Promise<void> {
    this.show(await this.api.listQueue());
  }

  /** The panel is shown: read the queue now, and on a timer while an entry runs. */
  watch(): Promise<void> {
    this.watched = true;
    return this.refresh();
  }

  /** Follows run events: a sample moves its entry's count at once; a start or an end is read back from the queue. */
  handle(event: RunEvent): void {
    if (event.type === 'sample') {
      this.entries = this.entries.map((entry) =>
        entry.jobId === event.jobId ? { ...entry, doneSamples: Math.min(entry.doneSamples + 1, entry.totalSamples) } : entry,
      );
    } else if (event.type === 'started' || event.type === 'finished') {
      clearTimeout(this.refreshTimer);
      this.refreshTimer = setTimeout(() => void this.refresh().catch(() => undefined), REFRESH_DELAY_MS);
    }
  }

  pause(): Promise<void> {
    return this.act(() => this.api.pauseQueue());
  }

  resume(): Promise<void> {
    return this.act(() => this.api.resumeQueue());
  }

  move(jobId: number, to: 'up' | 'down' | number): Promise<void> {
    return this.act(() => this.api.moveQueueEntry({ jobId, to }));
  }

  remove(jobId: number): Promise<void> {
    return this.act(() => this.api.removeQueueEntry({ jobId }));
  }

  /** Cancels a running or waiting entry of any kind (a run, a sweep cell, an evaluation). */
  cancel(jobId: number): Promise<void> {
    return this.act(async () => {
      await this.api.cancelRun({ jobId });
      return this.api.listQueue();
    });
  }

  /** The panel is gone: no more reading on a timer (run events still keep the entries current). */
  unwatch(): void {
    this.watched = false;
    clearInterval(this.pollTimer);
    this.pollTimer = undefined;
  }

  private async act(action: () => Promise<QueueView>): Promise<void> {
    try {
      this.message = null;
      this.show(await action());
    } catch (error) {
      this.message = (error as Error).message;
    }
  }

  private show(view: QueueView): void {
    this.paused = view.paused;
    this.entries = view.entries;
    const active = this.watched && view.entries.some((entry) => entry.status === 'running');
    if (active && this.pollTimer === undefined) {
      this.pollTimer = setInterval(() => void this.refresh().catch(() => undefined), POLL_INTERVAL_MS);
    } else if (!active && this.pollTimer !== undefined) {
      clearInterval(this.pollTimer);
      this.pollTimer = undefined;
    }
  }
}
