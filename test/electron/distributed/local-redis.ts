/**
 * A real redis-server for the distributed tests: loopback only, a port of its own, a password,
 * a temporary folder, and no snapshots. With `persistent`, every write goes to an append-only
 * file first, so a SIGKILLed server restarted on the same folder has every job back.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

export const REDIS_SERVER = '/usr/bin/redis-server';
export const redisAvailable = existsSync(REDIS_SERVER);

export interface LocalRedisOptions {
  persistent?: boolean;
  /** Also listen for TLS on `tlsPort`, with this certificate and key (PEM files). */
  tls?: { certFile: string; keyFile: string; caFile: string };
  /** ACL rules, one user each: "gds on >secret ~bull:* …". */
  users?: string[];
}

export interface LocalRedis {
  port: number;
  /** The TLS port, when started with `tls`. */
  tlsPort: number | null;
  password: string;
  url: string;
  start(): Promise<void>;
  kill(): Promise<void>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

async function answers(port: number, password: string): Promise<boolean> {
  const client = new Redis({ host: '127.0.0.1', port, password, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

export async function localRedis(options: LocalRedisOptions = {}): Promise<LocalRedis> {
  const port = await freePort();
  const tlsPort = options.tls ? await freePort() : null;
  const password = `test-${Math.random().toString(36).slice(2)}`;
  const dir = mkdtempSync(join(tmpdir(), 'gds-redis-'));
  let server: ChildProcess | null = null;
  const args = [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--requirepass', password,
    '--dir', dir,
    '--save', '',
    ...(options.persistent ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']),
    ...(options.tls
      ? ['--tls-port', String(tlsPort), '--tls-cert-file', options.tls.certFile, '--tls-key-file', options.tls.keyFile, '--tls-ca-cert-file', options.tls.caFile, '--tls-auth-clients', 'no']
      : []),
    ...(options.users ?? []).flatMap((rules) => ['--user', ...rules.split(' ')]),
  ];
  const redis: LocalRedis = {
    port,
    tlsPort,
    password,
    url: `redis://:${password}@127.0.0.1:${port}`,
    async start() {
      const child = spawn(REDIS_SERVER, args, { stdio: 'ignore' });
      server = child;
      const deadline = Date.now() + 10_000;
      while (!(await answers(port, password))) {
        if (child.exitCode !== null) throw new Error(`redis-server exited with code ${child.exitCode} on port ${port}.`);
        if (Date.now() > deadline) throw new Error(`redis-server did not answer on port ${port} within 10 s.`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async kill() {
      const child = server;
      server = null;
      if (!child || child.exitCode !== null) return;
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      });
    },
    async stop() {
      await redis.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await redis.start();
  return redis;
}
