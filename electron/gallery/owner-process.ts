import { randomUUID } from 'node:crypto';

/** How long a running run's owner is trusted without renewing its lease. */
export const RUN_LEASE_MS = 15_000;
/** How often an owner renews the leases of the runs it is drawing: several times per lease. */
export const RUN_LEASE_RENEW_MS = 3_000;

/** True when a process with this id exists (signal 0 only checks). */
function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A job row still marked running belongs to a dead process when its owner is unknown
 * or no longer exists; this process's own jobs are alive by definition.
 */
export function ownerIsGone(ownerPid: number | null): boolean {
  return ownerPid === null || (ownerPid !== process.pid && !processIsAlive(ownerPid));
}

/** An identity for one opened gallery, so its rows are told apart from those of a reused pid or another machine. */
export function newOwnerToken(): string {
  return randomUUID();
}

/** Who owns a row marked running, as the row records it. */
export interface RunOwner {
  ownerPid: number | null;
  ownerToken: string | null;
  leaseExpiresAt: number | null;
}

/**
 * A running row written by another gallery has no live owner when that process is gone
 * or its lease ran out (a hung process, or a pid now used by another program). Rows from
 * before leases existed have only the pid to go by.
 */
export function foreignOwnerIsGone(owner: RunOwner, now: number): boolean {
  if (ownerIsGone(owner.ownerPid)) return true;
  return owner.leaseExpiresAt !== null && owner.leaseExpiresAt < now;
}
