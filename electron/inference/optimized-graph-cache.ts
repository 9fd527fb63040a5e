/**
 * CPU sessions open from a copy of their graph that onnxruntime has already optimised, kept in the
 * user's cache. Optimising the built-in UNet and classifier gradient is about half of their session
 * creation (some 60 ms of CPU, 130 ms of a 2-core start); a graph opened from its optimised copy
 * runs the same fused kernels, so it draws the same images. The copy is written the first time a
 * graph opens on this machine, and is named by all it depends on: every file of the graph's folder
 * (external weights live there too), the onnxruntime version, and the processor's instruction set,
 * which the CPU layout transformations are made for (NCHWc blocks of 8 floats with AVX2, 16 with
 * AVX-512). Many virtual machines name every processor "Intel(R) Xeon(R) Processor", so on Linux
 * the name takes /proc/cpuinfo's flags too; where nothing but such a generic name is known, graphs
 * are opened as they are.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import type { InferenceSession } from 'onnxruntime-node';
import { studioCacheDir } from './user-cache-dir';

type SessionOptions = InferenceSession.SessionOptions;
type CreateSession<S> = (graph: string | Uint8Array, options: SessionOptions) => Promise<S>;

/** Folders above this size are opened as they are: a single-file copy of their weights could pass protobuf's 2 GiB. */
const MAX_CACHED_FOLDER_BYTES = 1024 * 1024 * 1024;
/** The cache keeps the copies used last within this many bytes (every model folder moved or edited leaves one behind). */
const CACHE_BUDGET_BYTES = 1024 * 1024 * 1024;

/** STUDIO_GRAPH_CACHE when set, else the studio's folder in the platform's per-user cache. */
export function optimizedGraphsDir(): string {
  return process.env.STUDIO_GRAPH_CACHE || path.join(studioCacheDir(), 'optimized-graphs');
}

/** The processor as its name and the instruction-set flags the system lists for it. */
export interface ProcessorIdentity {
  model: string;
  /** /proc/cpuinfo's `flags` (x86) or `Features` (Arm) line; null where the system gives none. */
  flags: string | null;
}

/** The first processor's flags line of a /proc/cpuinfo text, its flags in a fixed order. */
export function cpuinfoFlags(cpuinfo: string): string | null {
  const line = /^(?:flags|Features)\s*:(.*)$/m.exec(cpuinfo);
  return line ? line[1]!.trim().split(/\s+/).sort().join(' ') : null;
}

let processor: ProcessorIdentity | null = null;

function thisProcessor(): ProcessorIdentity {
  if (processor !== null) return processor;
  let flags: string | null = null;
  if (process.platform === 'linux') {
    try {
      flags = cpuinfoFlags(readFileSync('/proc/cpuinfo', 'utf8'));
    } catch {
      flags = null;
    }
  }
  processor = { model: os.cpus()[0]?.model ?? '', flags };
  return processor;
}

/**
 * What names the instruction set: the flags where known, else a model name that names a model
 * (it has a number, as "Core i7-9750H" and "Apple M2" do, and is no hypervisor's stand-in); null
 * when only a generic name is known, so a copy made for one instruction set is never opened on another.
 */
export function instructionSetKey(identity: ProcessorIdentity): string | null {
  if (identity.flags !== null && identity.flags !== '') return `${identity.model}|${identity.flags}`;
  const generic = !/\d/.test(identity.model) || /qemu|kvm|virtual/i.test(identity.model);
  return generic ? null : identity.model;
}

let runtimeVersion: string | null = null;

function onnxruntimeVersion(): string {
  runtimeVersion ??= (JSON.parse(readFileSync(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'), 'utf8')) as { version: string }).version;
  return runtimeVersion;
}

/** The copy's file name for `graph` as its folder is now, or null when the folder is too large to copy or the instruction set is unknown. */
function copyName(graph: string, options: SessionOptions, identity: ProcessorIdentity): string | null {
  const instructionSet = instructionSetKey(identity);
  if (instructionSet === null) return null;
  const folder = path.dirname(graph);
  const files = readdirSync(folder, { withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => {
      const stats = statSync(path.join(folder, entry.name));
      return { name: entry.name, size: stats.size, mtimeMs: stats.mtimeMs };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
  if (files.reduce((total, file) => total + file.size, 0) > MAX_CACHED_FOLDER_BYTES) return null;
  const key = JSON.stringify({
    graph: path.resolve(graph),
    files,
    onnxruntime: onnxruntimeVersion(),
    instructionSet,
    arch: process.arch,
    level: options.graphOptimizationLevel ?? 'all',
  });
  return `${path.basename(graph, '.onnx')}-${createHash('sha256').update(key).digest('hex').slice(0, 32)}.onnx`;
}

/** Removes a file if it can; a cache that cannot be tidied still must not fail a session. */
function removeQuietly(file: string): void {
  try {
    rmSync(file, { force: true });
  } catch {
    // Left for the next open to replace.
  }
}

/** A copy's modification time says when it was last opened: the budget removes the copies opened longest ago. */
function markUsed(copy: string): void {
  try {
    const now = new Date();
    utimesSync(copy, now, now);
  } catch {
    // An old time only makes the copy go sooner.
  }
}

/** Removes the copies opened longest ago until the cache fits its budget; `kept` (just written) stays. */
function keepWithinBudget(cacheDir: string, kept: string, budgetBytes: number): void {
  const copies = readdirSync(cacheDir)
    .filter((name) => name.endsWith('.onnx'))
    .map((name) => {
      const file = path.join(cacheDir, name);
      const stats = statSync(file);
      return { file, size: stats.size, mtimeMs: stats.mtimeMs };
    })
    .sort((a, b) => b.mtimeMs - a.mtimeMs);
  let total = 0;
  for (const copy of copies) {
    total += copy.size;
    if (total > budgetBytes && copy.file !== kept) removeQuietly(copy.file);
  }
}

function exists(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/**
 * `create` for `provider`, opening CPU graph files from their optimised copy (made on the first
 * open). Any other provider, a graph given as bytes, and any failure of the copy go to `create`
 * unchanged: the cache can make a start faster, never make it fail.
 */
export interface GraphCacheOptions {
  cacheDir?: string;
  budgetBytes?: number;
  /** The processor the copies are made for; this machine's unless given. */
  processor?: ProcessorIdentity;
}

export function withOptimizedGraph<S>(provider: string, create: CreateSession<S>, cache: GraphCacheOptions = {}): CreateSession<S> {
  if (provider !== 'cpu') return create;
  const { cacheDir = optimizedGraphsDir(), budgetBytes = CACHE_BUDGET_BYTES } = cache;
  return async (graph, options) => {
    if (typeof graph !== 'string') return create(graph, options);
    let name: string | null;
    try {
      name = copyName(graph, options, cache.processor ?? thisProcessor());
    } catch {
      name = null;
    }
    if (name === null) return create(graph, options);
    const copy = path.join(cacheDir, name);
    if (exists(copy)) {
      try {
        const session = await create(copy, { ...options, graphOptimizationLevel: 'disabled' });
        markUsed(copy);
        return session;
      } catch {
        // A damaged copy (a write cut short) is made again below.
        removeQuietly(copy);
      }
    }
    // Written aside and renamed once the session opened, so no other process opens a half-written copy.
    const written = `${copy}.${process.pid}.${Date.now()}.partial`;
    let session: S;
    try {
      mkdirSync(cacheDir, { recursive: true });
      session = await create(graph, { ...options, optimizedModelFilePath: written });
    } catch {
      removeQuietly(written);
      return create(graph, options);
    }
    try {
      renameSync(written, copy);
      keepWithinBudget(cacheDir, copy, budgetBytes);
    } catch {
      removeQuietly(written);
    }
    return session;
  };
}
