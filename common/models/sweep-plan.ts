/**
 * A sweep checked cell by cell before any of it is queued: every cell is planned for the model,
 * and a cell the planner refuses (a class out of range, DDIM guided from a plain spacing, a
 * classifier-free weight on a UNet without a null class) is named with the planner's sentence.
 * A cell whose swept value its mode would ignore is refused too, since it would only repeat
 * its neighbours' images under another label.
 */
import { usesClassifier, usesClassifierFree, type GuidanceMode, type RunRequest } from '../contract/run-request';
import { axisLength, cellName, sweepCells, type GridSweepRequest, type SweepAxis } from '../contract/sweep-grid';
import type { ModelManifest } from './manifest';
import { planRun, RunRequestError, type RunPlan } from './run-plan';

export interface PlannedSweepCell {
  x: number;
  y: number;
  request: RunRequest;
  plan: RunPlan;
}

/** Why the cell's mode would ignore the axis's value, or null when it reads it. */
function ignoredAxis(axis: SweepAxis | undefined, mode: GuidanceMode): string | null {
  if (axis?.setting === 'cfgScale' && !usesClassifierFree(mode)) {
    return `the mode "${mode}" does not read the classifier-free weight w. Sweep w in the mode "classifier-free" or "classifier-free+classifier".`;
  }
  if (axis?.setting === 'schedule' && !usesClassifier(mode)) {
    return `the mode "${mode}" has no classifier scale for a schedule to change. Sweep schedules in a mode the classifier guides, such as "conditional+classifier".`;
  }
  return null;
}

/**
 * The sentence for the first cell whose mode would ignore the value an axis gives it, or null.
 * It needs only the base mode, so the page can say it as the axes are typed.
 */
export function ignoredSweepValue(baseMode: GuidanceMode, x: SweepAxis, y: SweepAxis | undefined, classNames: readonly string[] = []): string | null {
  for (let yIndex = 0; yIndex < axisLength(y); yIndex++) {
    for (let xIndex = 0; xIndex < x.values.length; xIndex++) {
      const mode = x.setting === 'mode' ? x.values[xIndex]! : y?.setting === 'mode' ? y.values[yIndex]! : baseMode;
      const ignored = ignoredAxis(x, mode) ?? ignoredAxis(y, mode);
      if (ignored !== null) return `In ${cellName(x, xIndex, y, yIndex, classNames)} of the sweep, ${ignored}`;
    }
  }
  return null;
}

/** Every cell planned, row by row; throws a RunRequestError naming the first cell that cannot run. */
export function planSweepCells(manifest: ModelManifest, sweep: GridSweepRequest): PlannedSweepCell[] {
  const ignored = ignoredSweepValue(sweep.request.mode, sweep.x, sweep.y, manifest.classes.names);
  if (ignored !== null) throw new RunRequestError(ignored);
  return sweepCells(sweep, manifest.classes.names).map(({ x, y, request, name }) => {
    try {
      return { x, y, request, plan: planRun(manifest, request) };
    } catch (error) {
      if (!(error instanceof RunRequestError)) throw error;
      throw new RunRequestError(`In ${name} of the sweep: ${error.message}`);
    }
  });
}
