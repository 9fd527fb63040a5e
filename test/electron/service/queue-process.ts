/**
 * A studio process with a queue: it queues the four runs of queue-requests.ts and prints
 * "job <id>" for each queued entry, then "sample <jobId> <seed>" once each sample is stored
 * (stdout to a pipe is written synchronously on Linux, so a printed sample is committed).
 * Usage: queue-process.ts <data folder>
 */
import { openStudio } from '../../../electron/service/open-studio';
import { LINEAR_MODEL } from '../inference/test-models';
import { queuedRequests } from './queue-requests';

const [dataDir] = process.argv.slice(2);
if (dataDir === undefined) throw new Error('usage: queue-process.ts <data folder>');

const studio = openStudio({ dataDir, modelDirs: [LINEAR_MODEL], threads: 1 });
studio.onRunEvent((event) => {
  if (event.type === 'sample') process.stdout.write(`sample ${event.jobId} ${event.sample.seed}\n`);
});
for (const request of queuedRequests()) {
  const { jobId } = await studio.startRun({ request, recordTrajectory: false });
  process.stdout.write(`job ${jobId}\n`);
}
