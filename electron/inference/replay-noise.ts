/** Replayed noise (x_T and per-step z given instead of the seeds), checked before any work starts. */
import type { RunRequest } from '../../common/contract/run-request';
import type { RunPlan } from '../../common/models/run-plan';
import type { ReplayNoise } from './types';

export function needsStepNoise(request: Pick<RunRequest, 'sampler' | 'eta'>): boolean {
  // DPM-Solver++(2M) draws no noise; DDIM draws it only with η > 0.
  return request.sampler === 'ddpm' || (request.sampler === 'ddim' && request.eta > 0);
}

/** Checks replayed noise against the request before any work starts. */
export function checkReplayNoise(noise: ReplayNoise, request: RunRequest, plan: RunPlan): void {
  const perSample = plan.channels * plan.size * plan.size;
  const samples = request.seeds.length;
  const stepCount = plan.diffusion.betas.length;
  if (noise.initial.length !== samples * perSample) {
    throw new Error(`The replayed x_T holds ${noise.initial.length} values, but ${samples} samples of ${plan.channels}×${plan.size}×${plan.size} need ${samples * perSample}.`);
  }
  // The steps after a switch may draw noise where the steps before did not (DDIM η = 0 to DDPM).
  const stepNoise = needsStepNoise(request) || (plan.switchAt !== null && needsStepNoise(plan.switchAt));
  if (stepNoise && (noise.steps === null || noise.steps.length !== stepCount * samples * perSample)) {
    throw new Error(`The replayed step noise must have shape [${stepCount}, ${samples}, ${plan.channels}, ${plan.size}, ${plan.size}] for ${request.steps} ${request.sampler} steps${noise.steps === null ? ', but none was given' : `, but it holds ${noise.steps.length} values`}.`);
  }
}
