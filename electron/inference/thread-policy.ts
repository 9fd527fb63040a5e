/**
 * How many intra-op threads a CPU session gets: the cores other work leaves free, and no more
 * than the batch keeps busy. Measured on 2 shared cores with the built-in model: under load one
 * thread beats two by 10–20 % (a second thread waits for a core at every operator's barrier);
 * when the machine is quiet two threads win from batch 16 on, and below that each operator's
 * slice is too small to pay for the synchronisation.
 */

/** Images per thread from which one more thread pays for its synchronisation. */
export const IMAGES_PER_THREAD = 8;

export interface ThreadPolicyInput {
  /** Cores this process may use (os.availableParallelism()). */
  cores: number;
  /** Runnable threads of other work, the one-minute load average (os.loadavg()[0]). */
  loadAverage: number;
  /** Images per network call; Infinity when it is not known when the session opens. */
  batch: number;
}

export function intraOpThreads({ cores, loadAverage, batch }: ThreadPolicyInput): number {
  if (!Number.isInteger(cores) || cores < 1) throw new RangeError(`cores must be a whole number ≥ 1, got ${cores}`);
  if (!Number.isFinite(loadAverage) || loadAverage < 0) throw new RangeError(`loadAverage must be a finite number ≥ 0, got ${loadAverage}`);
  if (!(batch >= 1)) throw new RangeError(`batch must be ≥ 1 (Infinity when unknown), got ${batch}`);
  const freeCores = Math.min(cores, Math.max(1, Math.round(cores - loadAverage)));
  const busyThreads = Math.max(1, Math.floor(batch / IMAGES_PER_THREAD));
  return Math.min(freeCores, busyThreads);
}
