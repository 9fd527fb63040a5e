/**
 * The studio's job queue as the page sees it: every run, sweep cell, finish-run and
 * evaluation is one entry, kept in the gallery so it outlives a crash or a restart.
 */
import { z } from 'zod';

/**
 * `paused`: held, waiting while the whole queue is paused or, after a studio died, until the
 * queue is resumed; the done states never change again.
 */
export const QueueEntryStatus = z.enum(['queued', 'running', 'paused', 'completed', 'cancelled', 'failed']);
export type QueueEntryStatus = z.infer<typeof QueueEntryStatus>;

export const WAITING_QUEUE_STATUSES: readonly QueueEntryStatus[] = ['queued', 'paused'];
export const DONE_QUEUE_STATUSES: readonly QueueEntryStatus[] = ['completed', 'cancelled', 'failed'];

export const QueueEntryKind = z.enum(['run', 'sweep-cell', 'finish-run', 'evaluation']);
export type QueueEntryKind = z.infer<typeof QueueEntryKind>;

const JobId = z.number().int().positive();

export const QueueEntry = z.object({
  /** The job id that run events carry. */
  jobId: JobId,
  kind: QueueEntryKind,
  status: QueueEntryStatus,
  /** A short line for the queue panel: model, class, scale, sampler, how many images. */
  label: z.string(),
  sweepId: z.string().nullable(),
  /** The gallery run the entry draws into, once it has one. */
  runId: z.number().int().positive().nullable(),
  evaluationId: z.number().int().positive().nullable(),
  /** Samples finished (including those of an earlier, interrupted attempt) and asked for. */
  doneSamples: z.number().int().nonnegative(),
  totalSamples: z.number().int().nonnegative(),
  /** Why a failed entry failed, as a sentence. */
  error: z.string().nullable(),
  createdAt: z.number().int().nonnegative(),
});
export type QueueEntry = z.infer<typeof QueueEntry>;

export const QueueView = z.object({
  paused: z.boolean(),
  /** Running first, then the waiting entries in the order they will run, then the done ones, newest first. */
  entries: z.array(QueueEntry),
});
export type QueueView = z.infer<typeof QueueView>;

export const QueueEntryRef = z.object({ jobId: JobId });
export type QueueEntryRef = z.infer<typeof QueueEntryRef>;

/** One place up or down among the waiting entries, or to a position among them (0 runs next). */
export const QueueMove = z.object({
  jobId: JobId,
  to: z.union([z.enum(['up', 'down']), z.number().int().nonnegative().max(1_000_000)]),
});
export type QueueMove = z.infer<typeof QueueMove>;
