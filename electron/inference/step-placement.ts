/**
 * Which runs the device sampling path can take, apart from onnxruntime, so the main thread can
 * refuse a request that asks for it by name before anything is queued or drawn.
 */
import type { RunRequest, StepPlacement } from '../../common/contract/run-request';
import type { RunPlan } from '../../common/models/run-plan';
import type { ConcreteProvider } from './provider-order';

export type { StepPlacement };

/** What the device path cannot do yet, as the reason a request stays on the host path; null when it can run it. */
export function deviceRefusal(request: Pick<RunRequest, 'sampler'>, plan: Pick<RunPlan, 'classifierFree'>, extras: { trajectory: boolean; switches: boolean }): string | null {
  if (request.sampler !== 'ddim' && request.sampler !== 'ddpm') return `the ${request.sampler} sampler has no step graph`;
  if (plan.classifierFree !== null) return 'classifier-free guidance mixes two UNet outputs on the host';
  if (extras.switches) return 'a run that switches settings mid-way is sampled on the host';
  if (extras.trajectory) return 'a trajectory keeps every step on the host anyway';
  return null;
}

/** The sentence a request that names the device, and that the device path cannot run, is refused with. */
export function deviceRefusalSentence(reason: string): string {
  return `This run cannot be sampled on the device: ${reason}. Choose steps on "host" or "auto" (--steps-on host on the command line), which draw the same images.`;
}

/** The refusal of a request whose stepsOn is "device" and which the device path cannot run; null when it may go ahead. */
export function stepPlacementProblem(request: Pick<RunRequest, 'sampler' | 'stepsOn'>, plan: Pick<RunPlan, 'classifierFree' | 'switchAt'>, trajectory: boolean): string | null {
  if (request.stepsOn !== 'device') return null;
  const reason = deviceRefusal(request, plan, { trajectory, switches: plan.switchAt !== null });
  return reason === null ? null : deviceRefusalSentence(reason);
}

/** Whether "auto" places the steps on the device on this provider: only where onnxruntime-node keeps tensors there. */
export function devicePathByDefault(provider: ConcreteProvider): boolean {
  return provider === 'webgpu';
}
