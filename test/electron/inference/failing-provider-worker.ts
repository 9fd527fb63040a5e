/**
 * An inference worker whose CUDA is a stand-in: a model asked for on CUDA opens on the CPU,
 * labelled CUDA, and its UNet fails at its FAILING_CALL-th call; a folder inside one named
 * "cpu-fails" fails the same way on the CPU itself.
 */
import path from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { serveInferenceRequests } from '../../../electron/inference/inference-requests';
import { loadModel } from '../../../electron/inference/loaded-model';
import type { WorkerSettings } from '../../../electron/inference/worker-protocol';
import { FAILING_CALL, withFailingUnet } from './failing-provider';

if (parentPort === null) throw new Error('failing-provider-worker must run as a worker thread.');
serveInferenceRequests(parentPort, workerData as WorkerSettings, async (dir, provider, threads, precision) => {
  if (provider === 'cuda') return withFailingUnet(await loadModel(dir, 'cpu', threads, precision), 'cuda', FAILING_CALL);
  const model = await loadModel(dir, provider, threads, precision);
  return dir.split(path.sep).includes('cpu-fails') ? withFailingUnet(model, model.unet.provider, FAILING_CALL) : model;
});
