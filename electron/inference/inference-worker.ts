/**
 * The inference worker thread's entry: it answers the engine's requests (inference-requests.ts)
 * with the models opened on the providers they ask for.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { serveInferenceRequests } from './inference-requests';
import type { WorkerSettings } from './worker-protocol';

if (parentPort === null) throw new Error('inference-worker must run as a worker thread.');
serveInferenceRequests(parentPort, workerData as WorkerSettings);
