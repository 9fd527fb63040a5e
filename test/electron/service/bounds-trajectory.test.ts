/**
 * The recorded trajectory stays within its memory budget on a real ONNX model: with a small
 * budget the job keeps an evenly spaced subset of steps, holding exactly the states of those steps.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunRequest } from '../../../common/contract/run-request';
import { recordedSteps, trajectoryStepBytes } from '../../../common/models/run-plan';
import { loadModel, releaseModel, type LoadedModel } from '../../../electron/inference/loaded-model';
import { runSamplingJob } from '../../../electron/inference/sampling-job';
import type { SampleResult } from '../../../electron/inference/types';

const TINY_MODEL = path.join(import.meta.dirname, '../../fixtures/tiny-model');
const request: RunRequest = {
  modelId: 'tiny-test', classIndex: 1, mode: 'conditional+classifier', scale: 2, sampler: 'ddpm', steps: '40',
  eta: 0, clipDenoised: true, seeds: [5, 6, 7], batchSize: 2, provider: 'cpu',
};
const valuesPerSample = 1 * 8 * 8;

let model: LoadedModel;
beforeAll(async () => {
  model = await loadModel(TINY_MODEL, 'cpu', 1, 'fp32');
});
afterAll(async () => {
  await releaseModel(model);
});

async function sample(trajectoryBudgetBytes?: number): Promise<SampleResult[]> {
  const samples: SampleResult[] = [];
  await runSamplingJob(
    model,
    request,
    { trajectory: true, previewEvery: 0, noise: null, ...(trajectoryBudgetBytes === undefined ? {} : { trajectoryBudgetBytes }) },
    { progress: () => undefined, sample: (result) => samples.push(result) },
  );
  return samples;
}

describe('trajectory memory budget', () => {
  it('keeps every step within the default budget, and the chosen steps under a small one', async () => {
    const whole = await sample();
    expect(whole.map((result) => result.trajectory?.t.length)).toEqual([40, 40, 40]);

    // Six steps of a batch of two fit; the last, smaller batch keeps the same steps.
    const budget = 6 * trajectoryStepBytes(2, valuesPerSample);
    const kept = recordedSteps(40, 2, valuesPerSample, budget);
    expect(kept).toEqual([0, 8, 16, 23, 31, 39]);
    const cut = await sample(budget);
    for (const [position, result] of cut.entries()) {
      const full = whole[position]!.trajectory!;
      const trajectory = result.trajectory!;
      expect(trajectory.xt).toHaveLength(kept.length * valuesPerSample);
      expect(trajectory.predX0).toHaveLength(kept.length * valuesPerSample);
      expect([...trajectory.t]).toEqual(kept.map((step) => full.t[step]));
      for (const [slot, step] of kept.entries()) {
        const slice = (values: Float32Array, index: number) => [...values.subarray(index * valuesPerSample, (index + 1) * valuesPerSample)];
        expect(slice(trajectory.xt, slot)).toEqual(slice(full.xt, step));
        expect(slice(trajectory.predX0, slot)).toEqual(slice(full.predX0, step));
        expect(trajectory.classProbability?.[slot]).toBe(full.classProbability?.[step]);
      }
      // The final image is the last step's state, recorded or not.
      expect([...result.image]).toEqual([...whole[position]!.image]);
    }
  });
});
