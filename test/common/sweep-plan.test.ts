/**
 * A sweep planned cell by cell for the built-in model's manifest before anything is queued:
 * schedule and classifier-free weight axes expand into their cells' requests, and a cell the
 * planner refuses (the DDIM guidance trap, a weight on a UNet without a null class) or whose
 * swept value its mode ignores is refused with the cell named by its row and column labels.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunRequest } from '../../common/contract/run-request';
import { axisValueLabel, GridSweepRequest, SweepAxis, sweepCells } from '../../common/contract/sweep-grid';
import { ModelManifest } from '../../common/models/manifest';
import { RunRequestError } from '../../common/models/run-plan';
import { ignoredSweepValue, planSweepCells } from '../../common/models/sweep-plan';

const builtIn = ModelManifest.parse(JSON.parse(readFileSync(path.join(import.meta.dirname, '../../models/fashion-mnist/manifest.json'), 'utf8')));
const withoutNullClass: ModelManifest = { ...builtIn, name: 'No-null model', classes: { ...builtIn.classes, null_class: null } };

const base: RunRequest = {
  modelId: 'fashion-mnist',
  classIndex: 7,
  mode: 'classifier-free+classifier',
  scale: 2,
  sampler: 'ddim',
  steps: 'ddim25',
  eta: 0,
  clipDenoised: true,
  batchSize: 1,
  provider: 'cpu',
  seeds: [3],
};

const scheduleAxis: SweepAxis = { setting: 'schedule', values: [{ kind: 'constant' }, { kind: 'interval', tLo: 200, tHi: 800 }, { kind: 'ramp', from: 4, to: 0 }] };
const weightAxis: SweepAxis = { setting: 'cfgScale', values: [1, 2] };

function refusal(manifest: ModelManifest, sweep: GridSweepRequest): string {
  try {
    planSweepCells(manifest, sweep);
  } catch (error) {
    expect(error).toBeInstanceOf(RunRequestError);
    return (error as Error).message;
  }
  throw new Error('the sweep was planned');
}

describe('schedule and classifier-free weight axes', () => {
  it('hold the contract\'s schedules and weights, and refuse what a request may not hold', () => {
    expect(SweepAxis.parse(scheduleAxis)).toEqual(scheduleAxis);
    expect(SweepAxis.parse(weightAxis)).toEqual(weightAxis);
    expect(SweepAxis.safeParse({ setting: 'cfgScale', values: [-1] }).error?.issues[0]?.message).toBe('the classifier-free guidance weight must be 0 or more');
    expect(SweepAxis.safeParse({ setting: 'cfgScale', values: [101] }).error?.issues[0]?.message).toBe('the classifier-free guidance weight is at most 100');
    expect(SweepAxis.safeParse({ setting: 'schedule', values: [{ kind: 'wave' }] }).success).toBe(false);
    expect(SweepAxis.safeParse({ setting: 'cfgScale', values: [] }).error?.issues[0]?.message).toBe('an axis needs at least one classifier-free weight');
  });

  it('label the grid\'s edges as "w = 2" and "schedule interval 200–800"', () => {
    expect(weightAxis.values.map((_, index) => axisValueLabel(weightAxis, index))).toEqual(['w = 1', 'w = 2']);
    expect(scheduleAxis.values.map((_, index) => axisValueLabel(scheduleAxis, index))).toEqual(['schedule constant', 'schedule interval 200–800', 'schedule ramp 4→0']);
  });

  it('expand schedule rows × weight columns, row by row, each cell its own schedule and w', () => {
    const cells = planSweepCells(builtIn, { request: base, x: weightAxis, y: scheduleAxis, recordTrajectory: false });
    expect(cells.map(({ x, y, request }) => [x, y, request.cfgScale, request.guidanceSchedule])).toEqual([
      [0, 0, 1, { kind: 'constant' }],
      [1, 0, 2, { kind: 'constant' }],
      [0, 1, 1, { kind: 'interval', tLo: 200, tHi: 800 }],
      [1, 1, 2, { kind: 'interval', tLo: 200, tHi: 800 }],
      [0, 2, 1, { kind: 'ramp', from: 4, to: 0 }],
      [1, 2, 2, { kind: 'ramp', from: 4, to: 0 }],
    ]);
    // What the sampler will do with each cell: the built-in model's null class, w, and the schedule.
    expect(cells[3]!.plan.classifierFree).toEqual({ label: 7, nullClass: 10, weight: 2 });
    expect(cells[3]!.plan.guidanceSchedule).toEqual({ kind: 'interval', tLo: 200, tHi: 800 });
    expect(cells.every((cell) => cell.request.seeds.length === 1 && cell.request.classIndex === 7)).toBe(true);
  });

  it('name each cell by its row and column labels, or by its column alone in a single row', () => {
    const names = sweepCells({ request: base, x: weightAxis, y: scheduleAxis, recordTrajectory: false }).map((cell) => cell.name);
    expect(names[3]).toBe('the cell at row "schedule interval 200–800", column "w = 2"');
    expect(sweepCells({ request: base, x: weightAxis, recordTrajectory: false }).map((cell) => cell.name)).toEqual(['the cell "w = 1"', 'the cell "w = 2"']);
  });
});

describe('a sweep refused before it is queued, with the cell named', () => {
  it('refuses the cell that would hit the DDIM guidance trap (a plain spacing on a steps axis)', () => {
    const message = refusal(builtIn, { request: base, x: weightAxis, y: { setting: 'steps', values: ['ddim25', '50'] }, recordTrajectory: false });
    expect(message).toMatch(/^In the cell at row "50 steps", column "w = 1" of the sweep: /);
    expect(message).toContain('ddim50');
  });

  it('refuses a weight axis on a UNet without a null class, naming the first cell', () => {
    expect(refusal(withoutNullClass, { request: base, x: weightAxis, recordTrajectory: false })).toBe(
      'In the cell "w = 1" of the sweep: The mode "classifier-free+classifier" needs a UNet trained with a "no class" label, and "No-null model" has none. Use "conditional" or "conditional+classifier".',
    );
  });

  it('refuses the cell of a mode axis that needs a null class the model lacks', () => {
    const modes: SweepAxis = { setting: 'mode', values: ['conditional+classifier', 'classifier-free+classifier'] };
    expect(refusal(withoutNullClass, { request: base, x: modes, y: scheduleAxis, recordTrajectory: false })).toMatch(
      /^In the cell at row "schedule constant", column "classifier-free\+classifier" of the sweep: The mode "classifier-free\+classifier" needs a UNet trained with a "no class" label/,
    );
  });

  it('refuses a weight axis in a mode that does not read w, and a schedule axis in a mode without the classifier', () => {
    expect(refusal(builtIn, { request: { ...base, mode: 'conditional+classifier' }, x: weightAxis, recordTrajectory: false })).toBe(
      'In the cell "w = 1" of the sweep, the mode "conditional+classifier" does not read the classifier-free weight w. Sweep w in the mode "classifier-free" or "classifier-free+classifier".',
    );
    expect(refusal(builtIn, { request: { ...base, mode: 'classifier-free' }, x: scheduleAxis, recordTrajectory: false })).toBe(
      'In the cell "schedule constant" of the sweep, the mode "classifier-free" has no classifier scale for a schedule to change. Sweep schedules in a mode the classifier guides, such as "conditional+classifier".',
    );
  });

  it('names the first cell of a mode × w sweep whose mode ignores w, from the mode alone, as the page shows it', () => {
    const modes: SweepAxis = { setting: 'mode', values: ['classifier-free', 'conditional+classifier'] };
    expect(ignoredSweepValue('conditional', weightAxis, modes)).toBe(
      'In the cell at row "conditional+classifier", column "w = 1" of the sweep, the mode "conditional+classifier" does not read the classifier-free weight w. Sweep w in the mode "classifier-free" or "classifier-free+classifier".',
    );
    expect(ignoredSweepValue('conditional', weightAxis, { setting: 'mode', values: ['classifier-free', 'classifier-free+classifier'] })).toBeNull();
    expect(ignoredSweepValue('classifier-free+classifier', scheduleAxis, weightAxis)).toBeNull();
    expect(ignoredSweepValue('conditional', { setting: 'scale', values: [1, 2] }, undefined)).toBeNull();
  });

  it('refuses an interval past the model\'s timesteps in the cell that holds it', () => {
    const late: SweepAxis = { setting: 'schedule', values: [{ kind: 'constant' }, { kind: 'interval', tLo: 500, tHi: 1000 }] };
    expect(refusal(builtIn, { request: base, x: late, recordTrajectory: false })).toMatch(/^In the cell "schedule interval 500–1000" of the sweep: A guidance interval needs whole timesteps 0 ≤ tLo ≤ tHi ≤ 999/);
  });
});
