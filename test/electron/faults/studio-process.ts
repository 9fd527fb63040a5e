/**
 * A second studio on the same data folder, as a separate process: it starts one run on the
 * linear test model and prints "run <id>" when the run starts and "sample <id>" once each
 * sample is stored (stdout to a pipe is written synchronously on Linux, so a printed id is committed).
 * Usage: studio-process.ts <data folder> <seed count>
 */
import { openStudio } from '../../../electron/service/open-studio';
import { LINEAR_MODEL, request } from '../inference/test-models';

const [dataDir, seedText = '64'] = process.argv.slice(2);
if (dataDir === undefined) throw new Error('usage: studio-process.ts <data folder> [seed count]');
const seeds = Array.from({ length: Number(seedText) }, (_, i) => 1000 + i);

const service = openStudio({ dataDir, modelDirs: [LINEAR_MODEL], threads: 1 });
service.onRunEvent((event) => {
  if (event.type === 'started') process.stdout.write(`run ${event.runId}\n`);
  if (event.type === 'sample') process.stdout.write(`sample ${event.sample.id}\n`);
  if (event.type === 'finished') {
    process.stdout.write(`finished ${event.status}\n`);
    void service.close();
  }
});
await service.startRun({ request: request({ seeds, batchSize: 1, steps: 'ddim10' }), recordTrajectory: false });
