/**
 * The model files this machine has read in full and found to have their manifest's sha256, so a
 * model opened again is checked by each file's metadata instead of by hashing some 30 MB before
 * Generate can be used. A file counts as the one hashed only while its size, modification time,
 * change time, inode and device all match: rewriting it, in place or by a rename over it, changes
 * its change time whatever is done to its modification time. A file changed within a few seconds
 * of its hashing is not remembered, since a filesystem that keeps times in coarse steps could give
 * a second write in that step the same times.
 */
import type { BigIntStats } from 'node:fs';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { studioCacheDir } from './user-cache-dir';

/** How much older than its hashing a file must be to be remembered: above the 2 s steps of FAT's times. */
const SETTLED_MS = 3000;
/** The entries kept, the most recently verified first: a few models' files, with room for the folders tried once. */
const MAX_ENTRIES = 256;

const VerifiedFile = z.object({
  /** Size, modification and change times in nanoseconds, inode and device when it was hashed. */
  identity: z.string(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  verifiedAtMs: z.number(),
  /** For a graph: the external data files it reads, each already found to stay inside its folder. */
  externalData: z.array(z.string()).optional(),
});
export type VerifiedFile = z.infer<typeof VerifiedFile>;

const RecordFile = z.object({ format: z.literal(1), files: z.record(z.string(), VerifiedFile) });

export function fileIdentity(stats: BigIntStats): string {
  return [stats.size, stats.mtimeNs, stats.ctimeNs, stats.ino, stats.dev].join(':');
}

export function verifiedFilesRecordPath(): string {
  return path.join(studioCacheDir(), 'verified-model-files.json');
}

function readRecord(file: string): Record<string, VerifiedFile> {
  try {
    const parsed = RecordFile.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    return parsed.success ? parsed.data.files : {};
  } catch {
    // None yet, or unreadable: every file is hashed, as on a first start.
    return {};
  }
}

export class VerifiedFileRecord {
  private entries: Record<string, VerifiedFile> | null = null;
  private readonly added = new Map<string, VerifiedFile>();

  constructor(
    readonly file: string = verifiedFilesRecordPath(),
    private readonly now: () => number = Date.now,
  ) {}

  private all(): Record<string, VerifiedFile> {
    this.entries ??= readRecord(this.file);
    return this.entries;
  }

  /** The entry for `filePath` when it is, by its metadata, the file once hashed to `sha256`; else null. */
  lookup(filePath: string, stats: BigIntStats, sha256: string): VerifiedFile | null {
    const entry = this.added.get(filePath) ?? this.all()[filePath];
    if (entry === undefined || entry.sha256 !== sha256 || entry.identity !== fileIdentity(stats)) return null;
    return entry;
  }

  /** The moment to give `remember` for a file about to be read: taken before the read, so a write during it is not covered. */
  hashingStartsAt(): number {
    return this.now();
  }

  /** Notes that `filePath`, as `stats` describe it, hashed to `sha256` in a read begun at `startedAtMs`; saved by `save`. */
  remember(filePath: string, stats: BigIntStats, sha256: string, startedAtMs: number, externalData?: string[]): void {
    const lastChangeMs = Number((stats.ctimeNs > stats.mtimeNs ? stats.ctimeNs : stats.mtimeNs) / 1_000_000n);
    if (startedAtMs - lastChangeMs < SETTLED_MS) return;
    this.added.set(filePath, { identity: fileIdentity(stats), sha256, verifiedAtMs: startedAtMs, ...(externalData ? { externalData } : {}) });
  }

  /**
   * Writes the new entries beside those another process may have written meanwhile, aside and
   * renamed; a cache that cannot be written only means hashing again next time.
   */
  save(): void {
    if (this.added.size === 0) return;
    const merged = { ...readRecord(this.file), ...Object.fromEntries(this.added) };
    const kept = Object.entries(merged)
      .sort(([, a], [, b]) => b.verifiedAtMs - a.verifiedAtMs)
      .slice(0, MAX_ENTRIES);
    const written = `${this.file}.${process.pid}.${this.now()}.partial`;
    try {
      mkdirSync(path.dirname(this.file), { recursive: true });
      writeFileSync(written, JSON.stringify({ format: 1, files: Object.fromEntries(kept) }));
      renameSync(written, this.file);
      this.entries = Object.fromEntries(kept);
      this.added.clear();
    } catch {
      try {
        rmSync(written, { force: true });
      } catch {
        // Left for nobody: a stray .partial file is harmless.
      }
    }
  }
}
