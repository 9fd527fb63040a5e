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
