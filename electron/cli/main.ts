/**
 * Command line of Guided Diffusion Studio: `npm run cli -- <command> …`.
 * Each command lives in commands/<name>.ts and is registered here.
 */
import { Command, CommanderError } from 'commander';
import { evaluateCommand } from './commands/evaluate';
import { galleryCommand } from './commands/gallery';
import { metricsCommand } from './commands/metrics';
import { sampleCommand } from './commands/sample';
import { workerCommand } from './commands/worker';

const program = new Command('gds')
  .description('Guided Diffusion Studio: classifier-guided diffusion sampling from the command line')
  .showHelpAfterError()
  .exitOverride();

program.addCommand(sampleCommand());
program.addCommand(metricsCommand());
program.addCommand(evaluateCommand());
program.addCommand(galleryCommand());
program.addCommand(workerCommand());

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // Commander has printed the message (or help) already.
    process.exitCode = error.exitCode;
  } else {
    process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  }
}
