/**
 * The Redis that carries an evaluation's shards, named by one URL on every machine:
 * redis://[[user]:password@]host:port[/db], or rediss://… for TLS. The URL becomes ioredis
 * options; the password never appears in a message.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { Redis, type RedisOptions } from 'ioredis';

export interface QueueTlsFiles {
  /** PEM file of the certificate authority that signed the server's certificate (a private CA). */
  caFile?: string;
  /** PEM client certificate and key, when the server asks for one (`tls-auth-clients yes`). */
  certFile?: string;
  keyFile?: string;
}

export interface QueueAddress {
  /** The URL without its password, for messages. */
  display: string;
  options: RedisOptions;
}

const DEFAULT_PORT = 6379;

/** ioredis options for `url`; a URL that is not a Redis address gets a sentence saying what one looks like. */
export function queueAddress(url: string, tls: QueueTlsFiles = {}): QueueAddress {
  const example = 'redis://:PASSWORD@HOST:6379/0 (or rediss:// for TLS)';
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`The queue address "${url}" is not a URL; give one like ${example}.`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new Error(`The queue address must start with redis:// or rediss://, got "${parsed.protocol}//"; give one like ${example}.`);
  }
  if (parsed.hostname === '') throw new Error(`The queue address names no host; give one like ${example}.`);
  const port = parsed.port === '' ? DEFAULT_PORT : Number(parsed.port);
  const dbText = parsed.pathname.replace(/^\//, '');
  if (!/^\d*$/.test(dbText)) throw new Error(`The queue address's database "${dbText}" is not a number; leave it out or give one such as /0.`);
  const usesTls = parsed.protocol === 'rediss:';
  if (!usesTls && (tls.caFile || tls.certFile || tls.keyFile)) {
    throw new Error('TLS certificate files were given for a redis:// address; use rediss:// to connect over TLS.');
  }
  const options: RedisOptions = {
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'),
    port,
    db: dbText === '' ? 0 : Number(dbText),
    // BullMQ's workers block on Redis and must wait through reconnects rather than give up.
    maxRetriesPerRequest: null,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
  };
  if (parsed.username !== '') options.username = decodeURIComponent(parsed.username);
  if (parsed.password !== '') options.password = decodeURIComponent(parsed.password);
  if (usesTls) {
    options.tls = {
      // SNI carries host names only; an address is checked against the certificate's IP entries.
      ...(isIP(options.host!) === 0 ? { servername: options.host } : {}),
      ...(tls.caFile ? { ca: readFileSync(tls.caFile) } : {}),
      ...(tls.certFile ? { cert: readFileSync(tls.certFile) } : {}),
      ...(tls.keyFile ? { key: readFileSync(tls.keyFile) } : {}),
    };
  }
  const credentials = parsed.username !== '' || parsed.password !== '' ? `${parsed.username}${parsed.password !== '' ? ':***' : ''}@` : '';
  return { display: `${parsed.protocol}//${credentials}${parsed.host}/${options.db}`, options };
}

/** A sentence for a Redis error a user can fix, or null when it is not one of those. */
export function connectionProblem(error: unknown, display: string): string | null {
  const message = error instanceof Error ? error.message : String(error);
  if (/WRONGPASS|invalid password|invalid username-password/i.test(message)) {
    return `Redis at ${display} refused the user name or password. Check the password (redis://:PASSWORD@host:port) or the ACL user (redis://USER:PASSWORD@host:port) in the queue address.`;
  }
  if (/NOAUTH/i.test(message)) {
    return `Redis at ${display} asks for a password. Add it to the queue address: redis://:PASSWORD@host:port.`;
  }
  if (/NOPERM/i.test(message)) {
    return `The Redis user in ${display} lacks a permission the queue needs (${message}). Give the ACL user the commands and keys of the queue (see docs/distributed-evaluation.md).`;
  }
  if (/ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT/.test(message)) {
    return `Could not reach Redis at ${display} (${message}). Check that redis-server runs there and that the host and port are right.`;
  }
  if (/certificate|SSL|TLS|EPROTO/i.test(message)) {
    return `The TLS connection to Redis at ${display} failed (${message}). Check the certificate authority given with --tls-ca and that the server speaks TLS on that port.`;
  }
  return null;
}

/**
 * Opens a connection and checks it answers, so a wrong password or an unreachable host is
 * reported at once as a sentence instead of being retried for ever in the background.
 */
export async function openQueueConnection(address: QueueAddress, timeoutMs = 10_000): Promise<Redis> {
  const connection = new Redis({ ...address.options, lazyConnect: true, retryStrategy: () => null });
  let lastError: unknown = null;
  connection.on('error', (error: unknown) => {
    lastError = error;
  });
  try {
    await withTimeout(connection.connect().then(() => connection.ping()), timeoutMs, `Redis at ${address.display} did not answer within ${timeoutMs / 1000} s.`);
  } catch (error) {
    connection.disconnect();
    // The connection's own error says why (WRONGPASS, ECONNREFUSED); the rejection only that it closed.
    const reason = lastError ?? error;
    throw new Error(connectionProblem(reason, address.display) ?? `Could not open the queue at ${address.display}: ${reason instanceof Error ? reason.message : String(reason)}`, { cause: error });
  }
  connection.disconnect();
  return new Redis(address.options);
}

async function withTimeout<T>(work: Promise<T>, timeoutMs: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([work, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), timeoutMs)))]);
  } finally {
    clearTimeout(timer);
  }
}
