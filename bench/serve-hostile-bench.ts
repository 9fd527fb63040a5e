/**
 * `serve` under hostile input: the process's resident memory and the time of a plain `GET /`
 * before and after a burst of each class of bad request or frame, on a real `serve` process.
 * Prints figures only; nothing is asserted.
 *
 *   npx tsx bench/serve-hostile-bench.ts [--burst 200]
 */
import { spawn } from 'node:child_process';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { randomAccessToken } from '../electron/serve/access-token';
import { maskedFrame, rawRequest, rawWebSocket, type ClientFrame } from '../test/electron/serve/raw-client';

const { values: args } = parseArgs({ options: { burst: { type: 'string', default: '200' } } });
const burst = Number(args.burst);
const repositoryRoot = fileURLToPath(new URL('../', import.meta.url));
const token = randomAccessToken();
const dataDir = mkdtempSync(path.join(tmpdir(), 'gds-serve-bench-'));

const child = spawn(
  process.execPath,
  ['--import', 'tsx', path.join(repositoryRoot, 'electron/serve/main.ts'), '--port', '0', '--data', dataDir, '--token', token, '--threads', '1',
    '--models', path.join(repositoryRoot, 'test/fixtures/linear-8px')],
  { cwd: repositoryRoot, stdio: ['ignore', 'pipe', 'pipe'] },
);
let stderr = '';
child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));

const port = await new Promise<number>((resolve, reject) => {
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    const match = /Studio ready at http:\/\/127\.0\.0\.1:(\d+)\//.exec(stdout);
    if (match) resolve(Number(match[1]));
  });
  child.once('exit', (code) => reject(new Error(`serve exited with ${code}:\n${stderr}`)));
});

function residentMiB(): number {
  const line = readFileSync(`/proc/${child.pid}/status`, 'utf8').split('\n').find((candidate) => candidate.startsWith('VmRSS:'));
  return Number(/(\d+)/.exec(line ?? '')?.[1]) / 1024;
}

/** Median of 30 sequential `GET /`, in milliseconds. */
async function plainGetMs(): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 30; i++) {
    const start = performance.now();
    const response = await fetch(`http://127.0.0.1:${port}/`);
    await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`GET / answered ${response.status}`);
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

async function protocolError(frame: ClientFrame): Promise<number> {
  const raw = await rawWebSocket(port, `/studio?token=${token}`);
  raw.socket.write(maskedFrame(frame));
  return raw.closed;
}

async function malformedCall(): Promise<number> {
  const socket = new WebSocket(`ws://127.0.0.1:${port}/studio?token=${token}`);
  await new Promise((resolve) => socket.once('open', resolve));
  const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
  socket.send('{"id": "not a call"');
  return closed;
}

const statusOf = (requestLine: string, headers: Record<string, string> = {}) => () => rawRequest(port, requestLine, headers).then((answer) => answer.status);

const cases: [string, () => Promise<number>][] = [
  ['Range bytes=10-5', statusOf('GET /index.html HTTP/1.1', { Range: 'bytes=10-5' })],
  ['foreign Host', statusOf('GET / HTTP/1.1', { Host: `rebound.example:${port}` })],
  ['1 MiB URL', statusOf(`GET /${'a'.repeat(1024 * 1024)} HTTP/1.1`)],
  ['1 MiB header', statusOf('GET / HTTP/1.1', { 'X-Padding': 'b'.repeat(1024 * 1024) })],
  ['POST', statusOf('POST / HTTP/1.1', { 'Content-Length': '0' })],
  ['CONNECT', statusOf('CONNECT evil.example:443 HTTP/1.1')],
  ['climbing path', statusOf('GET /%2e%2e/%2e%2e/etc/passwd HTTP/1.1')],
  ['NUL in path', statusOf('GET /index.html%00.png HTTP/1.1')],
  ['absolute URL http://[', statusOf('GET http://[ HTTP/1.1')],
  ['WS invalid UTF-8', () => protocolError({ opcode: 0x1, payload: Buffer.from([0xff, 0xfe]) })],
  ['WS reserved bit', () => protocolError({ opcode: 0x1, payload: Buffer.from('{}'), reservedBits: 0b100 })],
  ['WS unknown opcode', () => protocolError({ opcode: 0x3 })],
  ['WS ping of 126 bytes', () => protocolError({ opcode: 0x9, payload: Buffer.alloc(126) })],
  ['WS frame over maxPayload', () => protocolError({ opcode: 0x2, declaredLength: 97 * 1024 * 1024 })],
  ['WS malformed call', malformedCall],
];

const rows: string[] = [];
const startRss = residentMiB();
const startGet = await plainGetMs();
console.log(`serve pid ${child.pid} on port ${port}; at start: RSS ${startRss.toFixed(1)} MiB, GET / median ${startGet.toFixed(2)} ms`);
console.log(`\n| burst of ${burst} | answers | RSS before → after (MiB) | GET / median before → after (ms) |\n|---|---|---|---|`);
for (const [name, attack] of cases) {
  const rssBefore = residentMiB();
  const getBefore = await plainGetMs();
  const answers = new Map<number, number>();
  // 20 at a time: a burst, without running the 2 cores out of sockets.
  for (let sent = 0; sent < burst; sent += 20) {
    const statuses = await Promise.all(Array.from({ length: Math.min(20, burst - sent) }, attack));
    for (const status of statuses) answers.set(status, (answers.get(status) ?? 0) + 1);
  }
  if (child.exitCode !== null) throw new Error(`serve died during "${name}":\n${stderr}`);
  const rssAfter = residentMiB();
  const getAfter = await plainGetMs();
  const answerText = [...answers].map(([status, count]) => `${status}×${count}`).join(', ');
  rows.push(`| ${name} | ${answerText} | ${rssBefore.toFixed(1)} → ${rssAfter.toFixed(1)} | ${getBefore.toFixed(2)} → ${getAfter.toFixed(2)} |`);
  console.log(rows.at(-1));
}
console.log(`\nat the end: RSS ${residentMiB().toFixed(1)} MiB, GET / median ${(await plainGetMs()).toFixed(2)} ms; log lines written: ${stderr.split('\n').length - 1}`);

child.kill('SIGTERM');
await new Promise((resolve) => child.once('exit', resolve));
rmSync(dataDir, { recursive: true, force: true });
