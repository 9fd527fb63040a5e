/**
 * The studio's one job queue. Entries live in the gallery (QueueRepository), so what was
 * queued or running when a studio closed carries on when one opens the folder again (after a
 * crash, once the queue is resumed); one entry runs at a time, in the order the user left them. What an entry does is up to
 * the owner of its kind (runs, evaluations), registered as an executor.
 */
import type { QueueEntry, QueueEntryKind, QueueView } from '../../common/contract/queue';
import type { NewQueueEntry, QueueRepository, StoredQueueEntry } from '../gallery/queue-repository';
import type { JobOutcome } from './job-outcome';
import { checkQueueRoom } from './request-checks';
import { messageForUser, UserFacingError } from './user-facing-error';

/** Why a running entry was stopped: the user cancelled it, or the studio is closing and the entry waits for the next one. */
type StopReason = 'cancel' | 'close';

export interface JobControl {
  signal: AbortSignal;
  /** Tells the queue how many of the entry's samples exist now. */
  progress(doneSamples: number): void;
  /** Records the gallery run the entry draws into, so a restart carries on in it. */
  attachRun(runId: number): void;
}

export interface JobKind {
  execute(entry: StoredQueueEntry, control: JobControl): Promise<JobOutcome>;
  /** Tells whoever follows the entry that it was cancelled before it started. */
  cancelledWhileWaiting(entry: StoredQueueEntry): void;
}

interface RunningEntry {
  entry: StoredQueueEntry;
  controller: AbortController;
  done: Promise<void>;
}

export class JobQueue {
  private readonly kinds = new Map<QueueEntryKind, JobKind>();
  private running: RunningEntry | null = null;
  private readonly progress = new Map<number, number>();
  private closing = false;
  private started = false;

  /** Endings the gallery could not record yet (disk full, locked): shown as they are, written when it can. */
  private readonly unrecorded = new Map<number, JobOutcome>();

  /**
   * `explain` turns a failed write of the gallery (disk full, locked) into the sentence the
   * user reads; the queue is then as it was.
   */
  constructor(
    private readonly entries: QueueRepository,
    private readonly explain: (error: unknown) => unknown = (error) => error,
  ) {}

  /** A change the user asked for, written to the gallery, or refused with the gallery's sentence. */
  private write<T>(change: () => T): T {
    try {
      return change();
    } catch (error) {
      throw this.explain(error);
    }
  }

  register(kinds: readonly QueueEntryKind[], kind: JobKind): void {
    for (const name of kinds) this.kinds.set(name, kind);
  }

  /** Starts the first entry, after taking over what a closed or dead studio left in the queue when asked to. */
  start(options: { adoptLeftEntries: boolean }): void {
    this.started = true;
    if (options.adoptLeftEntries) this.entries.adoptOrphans();
    this.schedule();
  }

  /** Queues entries behind the waiting ones; `limit` bounds how many of `kinds` may wait at once. */
  add(entries: readonly NewQueueEntry[], room: { kinds: readonly QueueEntryKind[]; limit: number; what: string }): StoredQueueEntry[] {
    const waiting = this.entries.waiting().filter((entry) => room.kinds.includes(entry.kind)).length;
    checkQueueRoom(waiting, entries.length, room.limit, room.what);
    const added = this.write(() => this.entries.add(entries));
    this.schedule();
    return added;
  }

  /** Entries running or waiting, of every studio on the folder. */
  active(): StoredQueueEntry[] {
    return this.entries.active();
  }

  view(): QueueView {
    return { paused: this.entries.paused(), entries: this.entries.list().map((entry) => this.entryView(entry)) };
  }

  pause(): QueueView {
    this.write(() => this.entries.setPaused(true));
    return this.view();
  }

  resume(): QueueView {
    this.write(() => this.entries.setPaused(false));
    this.schedule();
    return this.view();
  }

  move(jobId: number, to: 'up' | 'down' | number): QueueView {
    const order = this.entries.waiting().map((entry) => entry.id);
    const index = order.indexOf(jobId);
    if (index < 0) throw new UserFacingError(this.notWaiting(jobId, 'moved'));
    const target = to === 'up' ? index - 1 : to === 'down' ? index + 1 : to;
    this.write(() => this.entries.move(jobId, target));
    return this.view();
  }

  /** Lets a waiting entry of this studio run next (unless the whole queue is paused). */
  runNext(jobId: number): void {
    this.entries.release(jobId);
    this.schedule();
  }

  /** Cancels a running or waiting entry; false when it is not in the queue or already done. */
  cancel(jobId: number): boolean {
    if (this.running?.entry.id === jobId) {
      this.running.controller.abort('cancel' satisfies StopReason);
      return true;
    }
    const entry = this.entries.get(jobId);
    if (entry === undefined || !this.entries.holds(jobId) || (entry.status !== 'queued' && entry.status !== 'paused')) return false;
    this.write(() => this.entries.finish(jobId, 'cancelled'));
    this.kindOf(entry).cancelledWhileWaiting(entry);
    return true;
  }

  /** Takes an entry off the list; a waiting one is cancelled first, a running one must be cancelled first. */
  remove(jobId: number): QueueView {
    const entry = this.entries.get(jobId);
    if (entry === undefined) throw new UserFacingError(`Job ${jobId} is not in the queue; it may have been removed already.`);
    if (entry.status === 'running') throw new UserFacingError(`Job ${jobId} is running; cancel it first, then remove it.`);
    const waiting = entry.status === 'queued' || entry.status === 'paused';
    if (waiting && !this.entries.holds(jobId)) {
      throw new UserFacingError(`Job ${jobId} waits in the queue of another studio open on this data folder; remove it there.`);
    }
    this.cancel(jobId);
    this.write(() => this.entries.remove(jobId));
    this.progress.delete(jobId);
    return this.view();
  }

  /** Resolves once no entry of this studio runs or waits to run (paused entries do not count). */
  async whenIdle(): Promise<void> {
    for (;;) {
      if (this.running !== null) {
        await this.running.done;
        continue;
      }
      const next = this.entries.waiting().find((entry) => entry.status === 'queued' && this.entries.holds(entry.id));
      if (next === undefined) return;
      // The next entry starts on the next turn, or once the gallery can be written again.
      this.schedule();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /** Stops the running entry so it waits again at the head of the queue, and lets go of every waiting one. */
  async close(): Promise<void> {
    this.closing = true;
    const running = this.running;
    running?.controller.abort('close' satisfies StopReason);
    await running?.done;
    this.flushEndings();
    try {
      this.entries.handBack();
    } catch (error) {
      // Entries still held by this closed studio are taken over once its process is gone.
      console.error('The queue could not hand its entries back to the gallery:', error);
    }
  }

  private schedule(): void {
    // After the caller's reply has gone out, so the page knows the job id before its events.
    if (this.started) setImmediate(() => this.pump());
  }

  private pump(): void {
    if (this.running !== null || this.closing) return;
    this.flushEndings();
    let entry: StoredQueueEntry | undefined;
    try {
      entry = this.entries.claimNext();
    } catch (error) {
      // The gallery cannot be written now (disk full, locked); the entry waits for the next add, resume or restart.
      console.error('The queue could not start its next entry:', error);
      return;
    }
    if (entry === undefined) return;
    const controller = new AbortController();
    const running: RunningEntry = { entry, controller, done: Promise.resolve() };
    this.running = running;
    running.done = this.execute(entry, controller).finally(() => {
      this.running = null;
      this.pump();
    });
  }

  private async execute(entry: StoredQueueEntry, controller: AbortController): Promise<void> {
    let outcome: JobOutcome;
    try {
      outcome = await this.kindOf(entry).execute(entry, {
        signal: controller.signal,
        progress: (doneSamples) => this.progress.set(entry.id, doneSamples),
        attachRun: (runId) => this.entries.attachRun(entry.id, runId),
      });
    } catch (error) {
      outcome = { status: 'failed', message: messageForUser(error) };
    }
    if (controller.signal.reason === ('close' satisfies StopReason)) {
      try {
        this.entries.requeue(entry.id);
      } catch (error) {
        // A running entry of a closed studio is put back in the queue by the next studio that opens the folder.
        console.error(`Job ${entry.id} could not be put back in the queue:`, error);
      }
      return;
    }
    this.unrecorded.set(entry.id, outcome);
    this.flushEndings();
  }

  /** Writes the endings not recorded yet; what still cannot be written is tried again later. */
  private flushEndings(): void {
    for (const [jobId, outcome] of this.unrecorded) {
      try {
        this.entries.finish(jobId, outcome.status, outcome.message);
        this.unrecorded.delete(jobId);
      } catch (error) {
        console.error(`Job ${jobId} ended ${outcome.status}, but the queue could not record it yet:`, error);
      }
    }
  }

  private kindOf(entry: StoredQueueEntry): JobKind {
    const kind = this.kinds.get(entry.kind);
    if (kind === undefined) throw new Error(`No executor is registered for queue entries of kind ${entry.kind}.`);
    return kind;
  }

  private notWaiting(jobId: number, what: string): string {
    const entry = this.entries.get(jobId);
    if (entry === undefined) return `Job ${jobId} is not in the queue; it may have been removed.`;
    return `Job ${jobId} is ${entry.status}; only a waiting job can be ${what}.`;
  }

  private entryView(entry: StoredQueueEntry): QueueEntry {
    const ending = this.unrecorded.get(entry.id);
    const status = ending?.status ?? entry.status;
    const done = this.progress.get(entry.id) ?? (status === 'completed' ? entry.totalSamples : 0);
    return {
      jobId: entry.id,
      kind: entry.kind,
      status,
      label: entry.label,
      sweepId: entry.sweepId,
      runId: entry.runId,
      evaluationId: entry.evaluationId,
      doneSamples: Math.min(done, entry.totalSamples),
      totalSamples: entry.totalSamples,
      error: ending?.message ?? entry.error,
      createdAt: entry.createdAt,
    };
  }
}
