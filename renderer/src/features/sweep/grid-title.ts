/**
 * The title line of an exported grid: the model, the class and the settings every cell shares,
 * so the image read alone says what was held fixed. A setting an axis sweeps is left to the
 * axis labels, and w and the schedule appear only in the modes that read them.
 */
import { scheduleLabel } from '../../../../common/contract/guidance-schedule-text';
import { DEFAULT_CFG_SCALE, usesClassifier, usesClassifierFree } from '../../../../common/contract/run-request';
import type { GridSweepRequest, SweepSetting } from '../../../../common/contract/sweep-grid';

export function gridTitle(sweep: GridSweepRequest, modelName: string, classNames: readonly string[]): string {
  const swept = new Set<SweepSetting>([sweep.x.setting, ...(sweep.y === undefined ? [] : [sweep.y.setting])]);
  const { request } = sweep;
  const parts = [modelName];
  if (!swept.has('class')) parts.push(classNames[request.classIndex] ?? `class ${request.classIndex}`);
  if (!swept.has('mode')) parts.push(request.mode);
  // With the mode swept, w and the schedule are shown when the base mode reads them.
  if (!swept.has('cfgScale') && usesClassifierFree(request.mode)) parts.push(`w = ${request.cfgScale ?? DEFAULT_CFG_SCALE}`);
  if (!swept.has('schedule') && usesClassifier(request.mode) && request.guidanceSchedule !== undefined && request.guidanceSchedule.kind !== 'constant') {
    parts.push(`schedule ${scheduleLabel(request.guidanceSchedule)}`);
  }
  if (!swept.has('sampler')) parts.push(swept.has('steps') ? request.sampler.toUpperCase() : `${request.sampler.toUpperCase()} ${request.steps}`);
  return parts.join(' · ');
}
