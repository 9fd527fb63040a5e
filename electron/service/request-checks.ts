/**
 * Checks a request against the model it names and against the service's queue the moment it
 * arrives, so a mistake is answered with a sentence before anything is recorded or queued,
 * instead of failing minutes later inside a job.
 */
import type { PresetSettings } from '../../common/contract/gallery';
import type { EvaluationSpec } from '../../common/contract/evaluation';
import type { ModelManifest } from '../../common/models/manifest';
import { planRun } from '../../common/models/run-plan';
import { UserFacingError } from './user-facing-error';

/** Jobs the service holds waiting at once; a sweep counts one job per scale. */
export const MAX_QUEUED_JOBS = 256;
/** Evaluations waiting at once: each one may take hours. */
export const MAX_QUEUED_EVALUATIONS = 32;

/** Refuses `adding` more jobs when `queued` already wait and the queue would pass `limit`. */
export function checkQueueRoom(queued: number, adding: number, limit: number = MAX_QUEUED_JOBS, what = 'jobs'): void {
  if (queued + adding <= limit) return;
  throw new UserFacingError(
    `The queue holds at most ${limit} ${what} and ${queued} are waiting, so these ${adding} cannot be added; wait for some to finish or cancel a few, then try again.`,
  );
}

/** Throws the run planner's sentence as a UserFacingError, prefixed with what was being checked. */
function planOrExplain(subject: string, manifest: ModelManifest, settings: Parameters<typeof planRun>[1]): void {
  try {
    planRun(manifest, settings);
  } catch (error) {
    throw new UserFacingError(`${subject}: ${(error as Error).message}`);
  }
}

/** Checks an evaluation's classes, mode, steps and η against the model it names. */
export function checkEvaluationAgainstModel(manifest: ModelManifest, spec: EvaluationSpec): void {
  // The planner names the allowed range; it is asked about the first class it would refuse.
  const refused = spec.classes.find((classIndex) => classIndex >= manifest.classes.count);
  planOrExplain('These evaluation settings cannot run', manifest, {
    classIndex: refused ?? (spec.classes[0] as number),
    mode: spec.mode,
    sampler: spec.sampler,
    ...(spec.cfgScale === undefined ? {} : { cfgScale: spec.cfgScale }),
    ...(spec.guidanceSchedule === undefined ? {} : { guidanceSchedule: spec.guidanceSchedule }),
    scale: spec.scales[0] as number,
    steps: spec.steps,
    eta: spec.eta,
    seeds: [0],
  });
}

/** Checks a preset's settings against the model it names, so a saved preset always runs. */
export function checkPresetAgainstModel(manifest: ModelManifest, settings: PresetSettings): void {
  planOrExplain('This preset cannot be saved', manifest, { ...settings, seeds: [0] });
}
