/** Runs a test's helper script as a separate Node process and follows the lines it prints. */
import { spawn, type ChildProcess } from 'node:child_process';

export interface Child {
  process: ChildProcess;
  lines: string[];
  /** Writes one line to the child's stdin. */
  tell(line: string): void;
  /** Resolves with the first printed line (seen so far or later) that `predicate` accepts. */
  line(predicate: (line: string) => boolean): Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

export function startChild(script: string, args: readonly string[]): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let buffered = '';
  let stderr = '';
  const waiters: { predicate: (line: string) => boolean; resolve: (line: string) => void }[] = [];
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    const complete = buffered.split('\n');
    buffered = complete.pop() ?? '';
    for (const line of complete) {
      lines.push(line);
      for (const waiter of waiters.splice(0)) {
        if (waiter.predicate(line)) waiter.resolve(line);
        else waiters.push(waiter);
      }
    }
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((done) =>
    child.on('exit', (code, signal) => done({ code, signal, stderr })),
  );
  const line = (predicate: (line: string) => boolean) =>
    new Promise<string>((resolve, reject) => {
      const seen = lines.find(predicate);
      if (seen !== undefined) return resolve(seen);
      waiters.push({ predicate, resolve });
      void exited.then(({ code, signal, stderr: text }) => reject(new Error(`${script} exited (${code ?? signal}) before printing the line awaited: ${text}`)));
    });
  const tell = (text: string): void => void child.stdin?.write(`${text}\n`);
  return { process: child, lines, tell, line, exited };
}
