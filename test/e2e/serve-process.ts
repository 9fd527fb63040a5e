/** Starts `serve` as a child process, the way a user does, and reads the address it prints. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { inject } from 'vitest';

export const repositoryRoot = fileURLToPath(new URL('../../', import.meta.url));

export interface RunningServe {
  url: string;
  origin: string;
  token: string;
  /** Milliseconds from spawning the process to its "Studio ready" line. */
  readyAfterMs: number;
  /** The process id, to read what the process has cost (cpuSecondsOf). */
  pid: number;
  startedAt: number;
  output(): string;
  stop(): Promise<void>;
  /** Kills the process outright (SIGKILL), as a crash or a power cut would end it. */
  kill(): Promise<void>;
}

/** STUDIO_E2E_MODEL when set; else the built-in model when it has been built, else the small fixture model. */
export function e2eModelFolder(): string {
  const candidates = [
    ...(process.env.STUDIO_E2E_MODEL ? [path.resolve(process.env.STUDIO_E2E_MODEL)] : []),
    path.join(repositoryRoot, 'models', 'fashion-mnist'),
    path.join(repositoryRoot, 'test', 'fixtures', 'tiny-model'),
    path.join(repositoryRoot, 'test', 'fixtures', 'linear-8px'),
  ];
  const found = candidates.find((dir) => existsSync(path.join(dir, 'manifest.json')));
  if (!found) throw new Error(`No model folder for the end-to-end tests: none of ${candidates.join(', ')} has a manifest.json.`);
  return found;
}

/** The built-in Fashion-MNIST model, for the figures that are quoted on it. */
export function builtInModelFolder(): string {
  const dir = path.join(repositoryRoot, 'models', 'fashion-mnist');
  if (!existsSync(path.join(dir, 'manifest.json'))) {
    throw new Error(`The built-in model is missing from ${dir}. Export it with: .venv/bin/python -m studio_tools.train.export_builtin`);
  }
  return dir;
}

/** `port` 0 picks a free one; a restart that keeps open pages' addresses passes the port it had. */
export async function startServe(dataDir: string, modelFolders: string | string[], timeoutMs = 180_000, port = 0, extraArgs: readonly string[] = []): Promise<RunningServe> {
  // The run's renderer, built once before the first test (renderer-build-setup); serve builds its own without it.
  const rendererDir = inject('rendererDir');
  const rendererArgs = rendererDir ? ['--renderer', rendererDir] : [];
  const startedAt = performance.now();
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(repositoryRoot, 'electron/serve/main.ts'), '--port', String(port), '--data', dataDir, '--models', ...[modelFolders].flat(), '--threads', '2', ...rendererArgs, ...extraArgs],
    { cwd: repositoryRoot, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not get ready in ${timeoutMs} ms:\n${output}`)), timeoutMs);
    const check = () => {
      const match = /Studio ready at (http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout?.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with code ${code} before it was ready:\n${output}`));
    });
  });
  const readyAfterMs = performance.now() - startedAt;
  const parsed = new URL(url);
  return {
    url,
    origin: parsed.origin,
    token: parsed.searchParams.get('token')!,
    readyAfterMs,
    pid: child.pid!,
    startedAt,
    output: () => output,
    stop: () => endWith(child, 'SIGTERM'),
    kill: () => endWith(child, 'SIGKILL'),
  };
}

function endWith(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  return new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}

/**
 * CPU seconds a process has used so far, all its threads together (the inference worker included),
 * from /proc on Linux; null elsewhere. Unlike wall time it barely changes with what else the machine runs.
 */
export function cpuSecondsOf(pid: number): number | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // Fields after the command name, which is in parentheses and may hold spaces: utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // USER_HZ, which Linux fixes at 100 for user space whatever the kernel's own tick.
  const clockTicksPerSecond = 100;
  return (Number(fields[11]) + Number(fields[12])) / clockTicksPerSecond;
}
