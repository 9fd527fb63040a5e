/** A real, small file system for fault tests: a tmpfs of a few megabytes (mounting needs root). */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SmallDisk {
  dir: string;
  /** Makes the mounted file system read-only (as a full or protected disk would be for the studio). */
  makeReadOnly(): void;
  remove(): void;
}

export type SmallDiskOrReason = { disk: SmallDisk; reason?: undefined } | { disk?: undefined; reason: string };

export function mountSmallDisk(sizeMb: number): SmallDiskOrReason {
  const dir = mkdtempSync(join(tmpdir(), 'gds-small-disk-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    const detail = (error as { stderr?: Buffer }).stderr?.toString().trim() || (error as Error).message;
    return { reason: `mounting a ${sizeMb} MB tmpfs is not permitted here (${detail}); run the fault suite as root to fill a real disk.` };
  }
  return {
    disk: {
      dir,
      makeReadOnly: () => execFileSync('mount', ['-o', 'remount,ro', dir], { stdio: 'pipe' }),
      remove: () => {
        execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
        rmSync(dir, { recursive: true, force: true });
      },
    },
  };
}
