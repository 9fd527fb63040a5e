/**
 * A studio worker as its own operating-system process (`gds worker …`), so a test can SIGKILL
 * it mid-shard as a crash would. Every wait is bounded.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

const REPOSITORY = join(import.meta.dirname, '..', '..', '..');

export interface WorkerProcess {
  name: string;
  child: ChildProcess;
  output(): string;
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Resolves with the exit code (null after a signal). */
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export interface WorkerProcessOptions {
  queueUrl: string;
  models: string;
  name: string;
  lockDurationMs?: number;
  /** onnxruntime threads of the worker (1 by default: several workers share the test machine). */
  threads?: number;
}

export function spawnWorker(options: WorkerProcessOptions): WorkerProcess {
  const args = ['--import', 'tsx', 'electron/cli/main.ts', 'worker', '--queue', options.queueUrl, '--models', options.models, '--name', options.name, '--threads', String(options.threads ?? 1), '--provider', 'cpu'];
  if (options.lockDurationMs) args.push('--lock-duration', String(options.lockDurationMs));
  const child = spawn(process.execPath, args, { cwd: REPOSITORY, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  const watchers = new Set<() => void>();
  const take = (chunk: Buffer) => {
    text += chunk.toString();
    for (const watcher of watchers) watcher();
  };
  child.stdout!.on('data', take);
  child.stderr!.on('data', take);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    name: options.name,
    child,
    output: () => text,
    exited,
    waitFor(pattern, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const match = text.match(pattern);
          if (match) {
            finish();
            resolve(match);
          }
        };
        const timer = setTimeout(() => {
          finish();
          reject(new Error(`Worker ${options.name} did not print ${pattern} within ${timeoutMs} ms; it printed:\n${text}`));
        }, timeoutMs);
        const onExit = () => {
          check();
          finish();
          reject(new Error(`Worker ${options.name} exited before printing ${pattern}; it printed:\n${text}`));
        };
        const finish = () => {
          clearTimeout(timer);
          watchers.delete(check);
          child.off('exit', onExit);
        };
        watchers.add(check);
        child.once('exit', onExit);
        check();
      });
    },
    async kill(signal = 'SIGKILL') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      await exited;
    },
  };
}
