/**
 * `npm run serve`: runs the serve program (serve-program.ts) from its build, made first when its
 * sources changed (program-build.ts). A build that fails, say on a file half edited, leaves the
 * program to run from its sources, which say what is wrong in the usual way.
 */
import { messageForUser } from '../service/user-facing-error';
import { ensureServeProgramBuilt, type BuiltServeProgram } from './program-build';
import type { runServe as RunServe, ServeLaunch } from './serve-program';

const log = (line: string): void => void process.stderr.write(`${line}\n`);

async function builtOrNull(): Promise<BuiltServeProgram | null> {
  try {
    return await ensureServeProgramBuilt(log);
  } catch (error) {
    log(`The serve program could not be built (${messageForUser(error).split('\n')[0]}); it runs from its sources instead.`);
    return null;
  }
}

async function main(): Promise<void> {
  const built = await builtOrNull();
  const { runServe } = (built ? await import(built.programUrl.href) : await import('./serve-program')) as { runServe: typeof RunServe };
  const launch: ServeLaunch = built ? { workerEntry: built.workerEntry } : {};
  await runServe(launch);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
