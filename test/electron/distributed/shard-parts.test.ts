/**
 * The pieces of a sharded evaluation that need no Redis: the queue address, the shard plan,
 * the shard contract, the collection of results by (scale, seed), and the refusals a sharded
 * evaluation gives before it reaches the queue.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EvaluationSpec, type EvaluationSpecInput } from '../../../common/contract/evaluation';
import { float32FromBase64, float32ToBase64 } from '../../../electron/distributed/float32-base64';
import { connectionProblem, queueAddress } from '../../../electron/distributed/queue-connection';
import { ShardJob, type ShardResult } from '../../../electron/distributed/shard-contract';
import { startShardedEvaluation } from '../../../electron/distributed/sharded-evaluation';
import { planShards } from '../../../electron/distributed/shard-plan';
import { ShardResults } from '../../../electron/distributed/shard-results';
import { createEngine } from '../../../electron/inference';
import { seedsByClass } from '../../../electron/service/evaluation-job';

const spec = EvaluationSpec.parse({
  modelId: 'evaluated-8px',
  classes: [2, 0, 1],
  scales: [0, 4],
  mode: 'unconditional+classifier',
  sampler: 'ddim',
  steps: 'ddim5',
  eta: 0,
  samplesPerScale: 10,
} satisfies EvaluationSpecInput);
const SHA = 'e17cc30051a35e58281ee34989b59035185e65da1cee42a9240fd64a2c0029c5';

describe('queue address', () => {
  it('reads host, port, database and password, and never shows the password', () => {
    const address = queueAddress('redis://:s3cr%40t@10.0.0.5:6380/2');
    expect(address.options).toMatchObject({ host: '10.0.0.5', port: 6380, db: 2, password: 's3cr@t', maxRetriesPerRequest: null });
    expect(address.options.username).toBeUndefined();
    expect(address.options.tls).toBeUndefined();
    expect(address.display).toBe('redis://:***@10.0.0.5:6380/2');
  });

  it('takes an ACL user, the default port and database, and TLS for rediss://', () => {
    const address = queueAddress('rediss://studio:pw@redis.lab.example');
    expect(address.options).toMatchObject({ host: 'redis.lab.example', port: 6379, db: 0, username: 'studio', password: 'pw', tls: { servername: 'redis.lab.example' } });
    expect(address.display).toBe('rediss://studio:***@redis.lab.example/0');
  });

  it('refuses what is not a Redis address, with a sentence that shows one', () => {
    expect(() => queueAddress('localhost:6379')).toThrow(/must start with redis:\/\/ or rediss:\/\//);
    expect(() => queueAddress('http://localhost:6379')).toThrow(/must start with redis:\/\/ or rediss:\/\/, got "http:\/\/"; give one like redis:\/\/:PASSWORD@HOST:6379\/0/);
    expect(() => queueAddress('not a url')).toThrow(/is not a URL; give one like/);
    expect(() => queueAddress('redis://localhost:6379/zero')).toThrow(/database "zero" is not a number/);
    expect(() => queueAddress('redis://localhost:6379', { caFile: '/etc/ca.pem' })).toThrow(/use rediss:\/\/ to connect over TLS/);
  });

  it('names the fix for the Redis errors a user can meet', () => {
    const at = 'redis://:***@h:1/0';
    expect(connectionProblem(new Error('WRONGPASS invalid username-password pair or user is disabled.'), at)).toMatch(/refused the user name or password/);
    expect(connectionProblem(new Error('NOAUTH Authentication required.'), at)).toMatch(/asks for a password/);
    expect(connectionProblem(new Error('connect ECONNREFUSED 127.0.0.1:1'), at)).toMatch(/Could not reach Redis at redis:\/\/:\*\*\*@h:1\/0/);
    expect(connectionProblem(new Error('NOPERM this user has no permissions to run the \'evalsha\' command'), at)).toMatch(/lacks a permission the queue needs/);
    expect(connectionProblem(new Error('something else'), at)).toBeNull();
  });
});

describe('shard plan', () => {
  const shards = planShards(spec, { evaluationId: 'e1', modelSha256: SHA, shardSize: 4 });

  it('covers every seed of every scale once, in ranges of at most the shard size', () => {
    expect(shards.map((shard) => [shard.scaleIndex, shard.job.seeds])).toEqual([
      [0, [0, 1, 2, 3]], [0, [4, 5, 6, 7]], [0, [8, 9]],
      [1, [0, 1, 2, 3]], [1, [4, 5, 6, 7]], [1, [8, 9]],
    ]);
    expect(new Set(shards.map((shard) => shard.jobId)).size).toBe(shards.length);
    expect(shards.every((shard) => ShardJob.safeParse(shard.job).success)).toBe(true);
  });

  it('gives each seed the class the single-machine evaluation gives it', () => {
    const classOfSeed = new Map<number, number>();
    for (const [classIndex, seeds] of seedsByClass(spec)) for (const seed of seeds) classOfSeed.set(seed, classIndex);
    for (const shard of shards) expect(shard.job.classes).toEqual(shard.job.seeds.map((seed) => classOfSeed.get(seed)));
  });

  it('shifts the seeds by the seed offset and keeps the classes by position', () => {
    const shifted = planShards({ ...spec, seedOffset: 1000 }, { evaluationId: 'e2', modelSha256: SHA, shardSize: 4 });
    expect(shifted[0]!.job.seeds).toEqual([1000, 1001, 1002, 1003]);
    expect(shifted[0]!.job.classes).toEqual(shards[0]!.job.classes);
    const results = new ShardResults({ ...spec, seedOffset: 1000 });
    for (const shard of shifted) results.add(shard.scaleIndex, shard.job, resultFor(shard.job), 64);
    expect(results.merged(1).seeds).toEqual([...Array(spec.samplesPerScale).keys()].map((position) => 1000 + position));
  });

  it('refuses a shard size, batch size or evaluation id the queue or the engine could not take', () => {
    expect(() => planShards(spec, { evaluationId: 'e1', modelSha256: SHA, shardSize: 0 })).toThrow('A shard holds from 1 to 1024 seeds; got a shard size of 0.');
    expect(() => planShards(spec, { evaluationId: 'e1', modelSha256: SHA, shardSize: 1025 })).toThrow('A shard holds from 1 to 1024 seeds; got a shard size of 1025.');
    expect(() => planShards(spec, { evaluationId: 'e1', modelSha256: SHA, batchSize: 300 })).toThrow('The batch size must be a whole number from 1 to 256; got 300.');
    expect(() => planShards(spec, { evaluationId: 'table:1', modelSha256: SHA })).toThrow(/An evaluation id is 1 to 100 letters, digits, '-' or '_'; got "table:1"/);
  });

  it('the contract refuses a shard whose seeds and classes do not pair up, or a malformed fingerprint', () => {
    const job = shards[0]!.job;
    expect(ShardJob.safeParse({ ...job, classes: [0] }).error?.issues[0]?.message).toBe('a shard gives one class per seed');
    expect(ShardJob.safeParse({ ...job, modelSha256: 'abc' }).error?.issues[0]?.message).toMatch(/64 lowercase hexadecimal digits/);
  });
});

/** A result whose row for seed s holds features [s, 10 s] and logits [s + 0.5]. */
function resultFor(job: ShardJob, worker = 'w'): ShardResult {
  return {
    shardId: job.shardId,
    worker,
    seeds: job.seeds,
    ...(job.cfgScale === undefined ? {} : { cfgScale: job.cfgScale }),
    ...(job.guidanceSchedule === undefined ? {} : { guidanceSchedule: job.guidanceSchedule }),
    features: float32ToBase64(Float32Array.from(job.seeds.flatMap((seed) => [seed, 10 * seed]))),
    featureDimension: 2,
    logits: float32ToBase64(Float32Array.from(job.seeds.map((seed) => seed + 0.5))),
    logitDimension: 1,
    pixels: null,
    seconds: 1,
  };
}

describe('shard results', () => {
  const shards = planShards(spec, { evaluationId: 'e1', modelSha256: SHA, shardSize: 4 });

  it('drops seeds that arrive twice and merges in drawing order (seed i in row i, whichever shard came first)', () => {
    const results = new ShardResults(spec);
    for (const shard of [...shards].reverse()) expect(results.add(shard.scaleIndex, shard.job, resultFor(shard.job), 64)).toBe(shard.job.seeds.length);
    expect(results.add(shards[1]!.scaleIndex, shards[1]!.job, resultFor(shards[1]!.job, 'late'), 64)).toBe(0);

    const merged = results.merged(0);
    const expectedSeeds = [...Array(spec.samplesPerScale).keys()];
    expect(merged.seeds).toEqual(expectedSeeds);
    expect([...merged.classIndices]).toEqual(expectedSeeds.map((seed) => spec.classes[seed % spec.classes.length]));
    expect([...merged.features.data]).toEqual(expectedSeeds.flatMap((seed) => [seed, 10 * seed]));
    expect([...merged.logits.data]).toEqual(expectedSeeds.map((seed) => seed + 0.5));
  });

  it('says which seeds a scale still lacks', () => {
    const results = new ShardResults(spec);
    results.add(0, shards[0]!.job, resultFor(shards[0]!.job), 64);
    expect(() => results.merged(0)).toThrow('Scale 0 still lacks 6 seeds (first: 4).');
  });

  it('refuses a result for other seeds, of the wrong size, or from another evaluator', () => {
    const results = new ShardResults(spec);
    const job = shards[0]!.job;
    expect(() => results.add(0, job, { ...resultFor(job), seeds: [0, 1, 2, 5] }, 64)).toThrow(/returned other seeds than shard e1-scale0-seeds0 asked for/);
    expect(() => results.add(0, job, { ...resultFor(job), featureDimension: 3 }, 64)).toThrow(/hold 32 bytes where 12 float32 values \(48 bytes\) were expected/);
    results.add(0, job, resultFor(job), 64);
    const other = shards[1]!.job;
    expect(() => results.add(0, other, { ...resultFor(other), featureDimension: 1, features: float32ToBase64(new Float32Array(4)) }, 64)).toThrow(/its evaluator is not the same network/);
    expect(() => results.add(0, other, { ...resultFor(other), pixels: Buffer.alloc(3).toString('base64') }, 64)).toThrow(/images of shard e1-scale0-seeds4 hold 3 bytes where 256 were expected/);
  });
});

describe('the classifier-free weight and the schedule in shards', () => {
  const guided = EvaluationSpec.parse({ ...spec, mode: 'classifier-free+classifier', cfgScale: 3, guidanceSchedule: { kind: 'interval', tLo: 20, tHi: 70 } });
  const shards = planShards(guided, { evaluationId: 'cfg', modelSha256: SHA, shardSize: 4 });

  it('go with every shard, as the evaluation gives them, and pass the contract a worker checks', () => {
    for (const shard of shards) {
      expect(shard.job).toMatchObject({ mode: 'classifier-free+classifier', cfgScale: 3, guidanceSchedule: { kind: 'interval', tLo: 20, tHi: 70 } });
      expect(ShardJob.parse(shard.job)).toEqual(shard.job);
    }
    // An evaluation that names neither sends neither, so its shards read as before.
    expect(planShards(spec, { evaluationId: 'plain', modelSha256: SHA })[0]!.job).not.toHaveProperty('cfgScale');
    expect(planShards(spec, { evaluationId: 'plain', modelSha256: SHA })[0]!.job).not.toHaveProperty('guidanceSchedule');
  });

  it('a worker\'s job with a weight or schedule the contract cannot hold is refused', () => {
    const job = shards[0]!.job;
    expect(ShardJob.safeParse({ ...job, cfgScale: -1 }).error?.issues[0]?.message).toBe('the classifier-free guidance weight must be 0 or more');
    expect(ShardJob.safeParse({ ...job, guidanceSchedule: { kind: 'interval', tLo: 'late', tHi: 70 } }).success).toBe(false);
  });

  it('a result drawn without them (a worker of an older studio drops what it does not know) is refused, naming the worker', () => {
    const results = new ShardResults(guided);
    const job = shards[0]!.job;
    const { cfgScale: _weight, guidanceSchedule: _schedule, ...olderWorker } = resultFor(job, 'old-box');
    expect(() => results.add(0, job, olderWorker, 64)).toThrow(
      'Worker old-box drew shard cfg-scale0-seeds0 with no classifier-free weight, no schedule where the evaluation asks for w = 3, schedule interval:20-70, so its images are not the evaluation\'s; it may run an older studio version. Update that worker and resume the evaluation.',
    );
    expect(() => results.add(0, job, { ...resultFor(job), cfgScale: 2 }, 64)).toThrow(/drew shard cfg-scale0-seeds0 with w = 2, schedule interval:20-70 where the evaluation asks for w = 3/);
    expect(results.heldCount(0)).toBe(0);
    expect(results.add(0, job, resultFor(job), 64)).toBe(4);
  });
});

describe('float32 as base64', () => {
  it('round-trips exactly, also from a buffer at an odd offset', () => {
    const values = Float32Array.from([0, -0, 1.5, Math.PI, -1e-30, 3.4e38]);
    const text = float32ToBase64(values);
    expect(float32FromBase64(text, values.length, 'values')).toEqual(values);
    const shifted = Buffer.concat([Buffer.alloc(1), Buffer.from(text, 'base64')]).subarray(1).toString('base64');
    expect(float32FromBase64(shifted, values.length, 'values')).toEqual(values);
    expect(() => float32FromBase64(text, 5, 'features of shard x')).toThrow('The features of shard x hold 24 bytes where 5 float32 values (20 bytes) were expected.');
  });
});

describe('starting a sharded evaluation', () => {
  const model = join(import.meta.dirname, '..', '..', 'fixtures', 'evaluation-models', 'evaluated-8px');
  const input: EvaluationSpecInput = { ...spec };
  // Nothing here reaches Redis or the engine's worker: every refusal comes first.
  const engine = createEngine({ modelFolders: [model], threads: 1 });
  afterAll(() => engine.close());
  const start = (changes: Partial<EvaluationSpecInput>, queueUrl = 'redis://127.0.0.1:1') => startShardedEvaluation({ ...input, ...changes }, { queueUrl, engine, modelDir: model });

  it('refuses settings that fail the contract, or too few samples for precision and recall', async () => {
    await expect(start({ classes: [] })).rejects.toThrow(/^The evaluation settings are not valid: .*an evaluation needs at least one class/);
    await expect(start({ samplesPerScale: 3 })).rejects.toThrow('An evaluation needs at least 4 samples per scale');
  });

  it('refuses a model folder holding another model, and classes the model does not have', async () => {
    await expect(start({ modelId: 'imagenet-64' })).rejects.toThrow(/holds "evaluated-8px", not "imagenet-64"; give the folder of the model the evaluation names/);
    await expect(start({ classes: [0, 7] })).rejects.toThrow(/cannot run/);
  });

  it('refuses a queue address that is not one, and says when Redis is not there', async () => {
    await expect(start({}, 'http://127.0.0.1:6379')).rejects.toThrow(/must start with redis:\/\/ or rediss:\/\//);
    await expect(start({}, 'redis://127.0.0.1:1')).rejects.toThrow(/^Could not reach Redis at redis:\/\/127\.0\.0\.1:1\/0 \(.*ECONNREFUSED.*\)\. Check that redis-server runs there/);
  });
});
