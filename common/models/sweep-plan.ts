/**
 * A sweep checked cell by cell before any of it is queued: every cell is planned for the model,
 * and a cell the planner refuses (a class out of range, DDIM guided from a plain spacing, a
 * classifier-free weight on a UNet without a null class) is named with the planner's sentence.
 * A cell whose swept value its mode would ignore is refused too, since it would only repeat
 * its neighbours' images under another label.
 */
import { usesClassifier, usesClassifierFree, type RunRequest } from '../contract/run-request';
import { sweepCells, type GridSweepRequest, type SweepAxis } from '../contract/sweep-grid';
import type { ModelManifest } from './manifest';
import { planRun, RunRequestError, type RunPlan } from './run-plan';

export interface PlannedSweepCell {
  x: number;
  y: number;
  request: RunRequest;
  plan: RunPlan;
}

/** Why the cell's mode would ignore the axis's value, or null when it reads it. */
function ignoredAxis(axis: SweepAxis | undefined, request: RunRequest): string | null {
  if (axis?.setting === 'cfgScale' && !usesClassifierFree(request.mode)) {
    return `the mode "${request.mode}" does not read the classifier-free weight w. Sweep w in the mode "classifier-free" or "classifier-free+classifier".`;
  }
  if (axis?.setting === 'schedule' && !usesClassifier(request.mode)) {
    return `the mode "${request.mode}" has no classifier scale for a schedule to change. Sweep schedules in a mode the classifier guides, such as "conditional+classifier".`;
  }
  return null;
}

/** Every cell planned, row by row; throws a RunRequestError naming the first cell that cannot run. */
export function planSweepCells(manifest: ModelManifest, sweep: GridSweepRequest): PlannedSweepCell[] {
  return sweepCells(sweep, manifest.classes.names).map(({ x, y, request, name }) => {
    const ignored = ignoredAxis(sweep.x, request) ?? ignoredAxis(sweep.y, request);
    if (ignored !== null) throw new RunRequestError(`In ${name} of the sweep, ${ignored}`);
    try {
      return { x, y, request, plan: planRun(manifest, request) };
    } catch (error) {
      if (!(error instanceof RunRequestError)) throw error;
      throw new RunRequestError(`In ${name} of the sweep: ${error.message}`);
    }
  });
}
