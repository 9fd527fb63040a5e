/**
 * `npm run serve -- --port N --data DIR [--models DIR...]`: the studio without Electron. Serves the
 * built renderer and the StudioApi on 127.0.0.1, guarded by a random token printed once.
 */
import { Command, InvalidArgumentError } from 'commander';
import { unetPrecisionOption } from '../cli/option-parsers';
import type { UnetPrecision } from '../inference';
import { openStudio } from '../service/open-studio';
import { accessTokenArgument, minimumTokenLength, randomAccessToken } from './access-token';
import { startBridge } from './bridge-server';
import { ensureRendererBuilt } from './renderer-bundle';

function portNumber(text: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError('the port must be a whole number from 0 to 65535.');
  return port;
}

function threadCount(text: string): number {
  const threads = Number(text);
  if (!Number.isInteger(threads) || threads < 0) throw new InvalidArgumentError('threads must be a whole number, 0 for automatic.');
  return threads;
}

const program = new Command()
  .name('serve')
  .description('Run the studio headless and open it in a browser.')
  .requiredOption('--data <dir>', 'folder of the gallery database (created if missing)')
  .option('--port <n>', 'port on 127.0.0.1 (0 picks a free one)', portNumber, 7860)
  .option('--models <dirs...>', 'model folders, or folders of model folders', ['models'])
  .option('--threads <n>', 'onnxruntime CPU threads (0: automatic)', threadCount, 0)
  .addOption(unetPrecisionOption())
  .option('--token <token>', `use this token instead of a random one (at least ${minimumTokenLength} base64url characters)`, accessTokenArgument)
  .showHelpAfterError();

async function main(): Promise<void> {
  program.parse();
  const options = program.opts<{ data: string; port: number; models: string[]; threads: number; unetPrecision: UnetPrecision; token?: string }>();
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const rendererDir = await ensureRendererBuilt(log);
  const service = openStudio({ dataDir: options.data, modelDirs: options.models, threads: options.threads, unetPrecision: options.unetPrecision });
  const token = options.token ?? randomAccessToken();
  const bridge = await startBridge({ service, rendererDir, token, port: options.port, log });
  process.stdout.write(`Studio ready at ${bridge.url}\n`);

  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    log('Stopping: finishing the sample being written…');
    void bridge
      .close()
      .then(() => service.close())
      .finally(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
