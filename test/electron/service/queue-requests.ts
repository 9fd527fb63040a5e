/** The four runs the queue kill test queues: a long one that is killed mid-run and three that wait behind it. */
import type { RunRequest } from '../../../common/contract/run-request';
import { request } from '../inference/test-models';

export const KILLED_RUN_SEEDS = 48;

export function queuedRequests(): RunRequest[] {
  return [
    request({ seeds: Array.from({ length: KILLED_RUN_SEEDS }, (_, i) => 2000 + i), batchSize: 1, steps: 'ddim10' }),
    request({ seeds: [31, 32, 33, 34], batchSize: 2, classIndex: 0, scale: 1 }),
    request({ seeds: [41, 42, 43], batchSize: 3, classIndex: 2, scale: 4, mode: 'conditional+classifier' }),
    request({ seeds: [51, 52], batchSize: 1, sampler: 'ddpm', steps: '20', scale: 0 }),
  ];
}
