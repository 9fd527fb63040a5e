/**
 * `worker`: this machine serves evaluation shards from a Redis queue until stopped. It takes
 * a shard when it is free (so a faster GPU takes more), draws it with the models under
 * --models, and sends back the evaluator's features and logits. SIGTERM or Ctrl-C finishes the
 * shard in hand and exits; a second one exits at once and the shard goes to another worker.
 *
 *   npm run cli -- worker --queue redis://:PASSWORD@10.0.0.5:6379 --models models
 */
import { Command, Option } from 'commander';
import { ProviderName } from '../../../common/contract/run-request';
import { queueAddress } from '../../distributed/queue-connection';
import { DEFAULT_LOCK_DURATION_MS, startShardWorker, type ShardWorker, type ShardWorkerEvent } from '../../distributed/shard-worker';
import type { UnetPrecision } from '../../inference';
import { openEngine } from '../../service/open-studio';
import { unetPrecisionOption, wholeNumber } from '../option-parsers';

export interface WorkerCommandOptions {
  queue: string;
  models: string;
  name?: string;
  provider: ProviderName;
  threads: number;
  unetPrecision: UnetPrecision;
  lockDuration: number;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
}

function describe(event: ShardWorkerEvent): string {
  switch (event.type) {
    case 'started':
      return `shard ${event.shardId}: drawing ${event.samples} samples`;
    case 'completed':
      return `shard ${event.shardId}: done, ${event.samples} samples in ${event.seconds.toFixed(2)} s (${(event.samples / event.seconds).toFixed(2)} samples/s)`;
    case 'refused':
      return `shard ${event.shardId} refused: ${event.reason}`;
    case 'failed':
      return `shard ${event.shardId} failed: ${event.reason}`;
    case 'queueError':
      return `queue: ${event.message}`;
  }
}

export async function runWorkerCommand(options: WorkerCommandOptions): Promise<void> {
  const tls = { ...(options.tlsCa ? { caFile: options.tlsCa } : {}), ...(options.tlsCert ? { certFile: options.tlsCert } : {}), ...(options.tlsKey ? { keyFile: options.tlsKey } : {}) };
  const address = queueAddress(options.queue, tls);
  const engine = openEngine({ modelDirs: [options.models], threads: options.threads, unetPrecision: options.unetPrecision });
  const log = (line: string) => process.stdout.write(`${line}\n`);
  // Listening before the worker starts: it may take a shard the moment it connects.
  let worker: ShardWorker | null = null;
  let stopRequested = false;
  let wake = () => {};
  const stopped = new Promise<void>((resolve) => (wake = resolve));
  const stop = (signal: NodeJS.Signals) => {
    if (stopRequested) {
      log(`${signal}: stopping now; the shard in hand goes to another worker once its lock lapses`);
      process.exit(1);
    }
    stopRequested = true;
    log(`${signal}: finishing the shard in hand, then stopping (again to stop at once)`);
    if (worker) void worker.close().then(wake, wake);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  try {
    worker = await startShardWorker({
      queueUrl: options.queue,
      tls,
      engine,
      provider: options.provider,
      lockDurationMs: options.lockDuration,
      ...(options.name ? { name: options.name } : {}),
      onEvent: (event) => log(describe(event)),
    });
    log(`worker ${worker.name} ready on ${address.display} with models: ${worker.modelIds.join(', ')}`);
    if (stopRequested) void worker.close().then(wake, wake);
    await stopped;
    log(`worker ${worker.name} stopped`);
  } finally {
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
    await engine.close();
  }
}

export function workerCommand(): Command {
  return new Command('worker')
    .description('serve evaluation shards from a Redis queue (see docs/distributed-evaluation.md)')
    .requiredOption('--queue <url>', 'redis://[[user]:password@]host:port[/db], or rediss://… for TLS')
    .option('--models <dir>', 'folder of model folders (or one model folder); shards for other models or other weights are refused', 'models')
    .option('--name <name>', 'name shown in the shard view (default: hostname:pid)')
    .addOption(new Option('--provider <name>', 'execution provider').choices(ProviderName.options).default('auto'))
    .addOption(new Option('--threads <n>', 'CPU threads (0: onnxruntime decides)').argParser(wholeNumber('--threads', 0)).default(0))
    .addOption(unetPrecisionOption())
    .addOption(
      new Option('--lock-duration <ms>', 'how long a shard stays locked without a heartbeat before another worker redoes it')
        .argParser(wholeNumber('--lock-duration', 200))
        .default(DEFAULT_LOCK_DURATION_MS),
    )
    .option('--tls-ca <file>', 'PEM certificate authority of the Redis server (rediss:// only)')
    .option('--tls-cert <file>', 'PEM client certificate, when the server asks for one (rediss:// only)')
    .option('--tls-key <file>', 'PEM key of the client certificate (rediss:// only)')
    .action(async (options: WorkerCommandOptions) => runWorkerCommand(options));
}
