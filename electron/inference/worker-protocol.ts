/** Messages between the engine (main thread) and the sampling worker. */
import type { ProviderName, RunRequest } from '../../common/contract/run-request';
import type { UnetGraphPrecision, UnetPrecision } from './sessions';
import type { ConcreteProvider, ProgressEvent, ProviderAttempt, ReplayNoise, RunTimings, SampleResult } from './types';

export type ToWorker =
  | { type: 'load'; id: number; dir: string; provider: ProviderName }
  | {
      type: 'sample';
      id: number;
      dir: string;
      request: RunRequest;
      trajectory: boolean;
      previewEvery: number;
      noise: ReplayNoise | null;
      /** Int32Array over a SharedArrayBuffer; the main thread stores 1 to cancel. */
      cancelFlag: Int32Array;
    }
  | { type: 'cancel'; id: number };

export interface SerializedError {
  name: string;
  message: string;
}

export type FromWorker =
  | { type: 'loaded'; id: number; provider: ConcreteProvider; fallbacks: ProviderAttempt[]; unetPrecision: UnetGraphPrecision }
  | { type: 'progress'; id: number; event: ProgressEvent }
  | { type: 'sample'; id: number; sample: SampleResult }
  | { type: 'done'; id: number; timings: RunTimings; provider: ConcreteProvider; fallbacks: ProviderAttempt[] }
  | { type: 'failed'; id: number; error: SerializedError };

export interface WorkerSettings {
  threads: number;
  unetPrecision: UnetPrecision;
}
