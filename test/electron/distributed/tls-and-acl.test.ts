/**
 * The queue over TLS (rediss://, a private certificate authority) with an ACL user confined to
 * the queue's keys, as docs/distributed-evaluation.md sets it up; a missing CA and a user
 * without the keys each get a sentence.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EvaluationSpecInput } from '../../../common/contract/evaluation';
import { startShardedEvaluation } from '../../../electron/distributed/sharded-evaluation';
import { startShardWorker, type ShardWorker } from '../../../electron/distributed/shard-worker';
import { createEngine, type Engine } from '../../../electron/inference';
import { localRedis, redisAvailable, REDIS_SERVER, type LocalRedis } from './local-redis';

const OPENSSL = '/usr/bin/openssl';
const MODEL = join(import.meta.dirname, '..', '..', 'fixtures', 'evaluation-models', 'evaluated-8px');
const QUEUE_USER = 'gds on >queue-secret ~bull:* &bull:* +@all -@dangerous +info +client|setname +client|getname';
const OUTSIDER = 'outsider on >outsider-secret ~other:* +@all -@dangerous +info +client|setname +client|getname';

const spec: EvaluationSpecInput = {
  modelId: 'evaluated-8px',
  classes: [0, 1, 2],
  scales: [1],
  mode: 'unconditional+classifier',
  sampler: 'ddim',
  steps: 'ddim5',
  eta: 0,
  samplesPerScale: 12,
};

/** A certificate authority and a server certificate for 127.0.0.1, made with openssl. */
function makeCertificates(dir: string): { caFile: string; certFile: string; keyFile: string } {
  const file = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync(OPENSSL, args, { stdio: 'ignore' });
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', file('ca.key'), '-out', file('ca.crt'), '-days', '1', '-subj', '/CN=gds test CA');
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', file('server.key'), '-out', file('server.csr'), '-subj', '/CN=localhost');
  writeFileSync(file('san.cnf'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  openssl('x509', '-req', '-in', file('server.csr'), '-CA', file('ca.crt'), '-CAkey', file('ca.key'), '-CAcreateserial', '-out', file('server.crt'), '-days', '1', '-extfile', file('san.cnf'));
  return { caFile: file('ca.crt'), certFile: file('server.crt'), keyFile: file('server.key') };
}

const available = redisAvailable && existsSync(OPENSSL);
const suiteName = available ? 'queue over TLS with an ACL user' : `queue over TLS with an ACL user: skipped, it needs ${REDIS_SERVER} and ${OPENSSL}`;

describe.skipIf(!available)(suiteName, () => {
  let dir: string;
  let certificates: ReturnType<typeof makeCertificates>;
  let server: LocalRedis;
  let engine: Engine;
  let worker: ShardWorker | null = null;
  const url = (user: string) => `rediss://${user}@127.0.0.1:${server.tlsPort}`;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gds-tls-'));
    certificates = makeCertificates(dir);
    server = await localRedis({ tls: certificates, users: [QUEUE_USER, OUTSIDER] });
    engine = createEngine({ modelFolders: [MODEL], threads: 1 });
  }, 30_000);

  afterAll(async () => {
    await worker?.close();
    await engine?.close();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('an evaluation runs over rediss:// with the private CA and the queue\'s ACL user', async () => {
    const tls = { caFile: certificates.caFile };
    worker = await startShardWorker({ queueUrl: url('gds:queue-secret'), tls, engine, name: 'tls-worker', provider: 'cpu', lockDurationMs: 2000 });
    const evaluation = await startShardedEvaluation(spec, { queueUrl: url('gds:queue-secret'), tls, engine, modelDir: MODEL, shardSize: 6, pollIntervalMs: 100 });
    const outcome = await evaluation.done;
    expect(outcome.results).toHaveLength(1);
    expect(outcome.results[0]!.sampleCount).toBe(12);
    expect(outcome.results[0]!.fid).toBeGreaterThan(0);
    expect(outcome.workers.map((tally) => [tally.worker, tally.samples])).toEqual([['tls-worker', 12]]);
  }, 60_000);

  it('without the CA, the server\'s certificate is refused with a sentence naming --tls-ca', async () => {
    await expect(startShardWorker({ queueUrl: url('gds:queue-secret'), engine, name: 'no-ca' })).rejects.toThrow(
      /The TLS connection to Redis at rediss:\/\/gds:\*\*\*@127\.0\.0\.1:\d+\/0 failed \(self-signed certificate in certificate chain\)\. Check the certificate authority given with --tls-ca/,
    );
  });

  it('a user without the queue\'s keys is told which permission it lacks', async () => {
    await expect(
      startShardedEvaluation(spec, { queueUrl: url('outsider:outsider-secret'), tls: { caFile: certificates.caFile }, engine, modelDir: MODEL }),
    ).rejects.toThrow(/The Redis user in rediss:\/\/outsider:\*\*\*@127\.0\.0\.1:\d+\/0 lacks a permission the queue needs \(NOPERM/);
  });
});
