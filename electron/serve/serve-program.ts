/**
 * `npm run serve -- --port N --data DIR [--models DIR...]`: the studio without Electron. Serves the
 * built renderer and the StudioApi on 127.0.0.1, guarded by a token kept in the data folder (so a
 * restart keeps open pages' addresses valid) unless `--token` gives one; `--rotate-token` makes a new one.
 * main.ts runs it, from its build where there is one.
 */
import { Command, InvalidArgumentError } from 'commander';
import { unetPrecisionOption } from '../cli/option-parsers';
import type { UnetPrecision } from '../inference';
import { openStudio } from '../service/open-studio';
import { accessTokenArgument, minimumTokenLength } from './access-token';
import { startBridge } from './bridge-server';
import { loadOrCreateToken, tokenFilePath } from './stored-token';
import { builtRendererAt, ensureRendererBuilt } from './renderer-bundle';

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
  .option('--token <token>', `use this token instead of the stored one (at least ${minimumTokenLength} base64url characters)`, accessTokenArgument)
  .option('--rotate-token', 'replace the token stored in the data folder with a new random one (old addresses stop working)', false)
  .option('--renderer <dir>', 'serve this built renderer as it is, instead of renderer/dist (built when its sources are newer)')
  .option('--queue <url>', 'Redis address (redis://:PASSWORD@host:6379): evaluations are drawn by workers on other machines (cli worker)')
  .showHelpAfterError();

function storedToken(dataDir: string, rotate: boolean, log: (line: string) => void): string {
  const { token, created } = loadOrCreateToken(dataDir, rotate);
  if (created) log(`A new access token is stored in ${tokenFilePath(dataDir)} (owner only); addresses printed before stop working.`);
  return token;
}

export interface ServeLaunch {
  /** The built inference worker that goes with a built program; the engine's TypeScript source when absent. */
  workerEntry?: URL;
}

export async function runServe(launch: ServeLaunch = {}): Promise<void> {
  program.parse();
  const options = program.opts<{ data: string; port: number; models: string[]; threads: number; unetPrecision: UnetPrecision; token?: string; rotateToken: boolean; queue?: string; renderer?: string }>();
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const rendererDir = options.renderer ? builtRendererAt(options.renderer) : await ensureRendererBuilt(log);
  const service = openStudio({
    dataDir: options.data,
    modelDirs: options.models,
    threads: options.threads,
    unetPrecision: options.unetPrecision,
    ...(launch.workerEntry ? { workerEntry: launch.workerEntry } : {}),
    ...(options.queue ? { evaluation: { queueUrl: options.queue } } : {}),
  });
  // At once: the worker and the model open on their own thread while the bridge starts and the page loads,
  // and the page's first Generate waits for the model, not for the page.
  void service.preloadDefaultModel();
  const token = options.token ?? storedToken(options.data, options.rotateToken, log);
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
