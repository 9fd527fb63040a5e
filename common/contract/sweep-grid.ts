/**
 * Two-axis sweeps (an X/Y plot): every pair of an x value and a y value is one cell, a run of
 * the base request with those two settings changed. Each cell is one queue entry.
 */
import { z } from 'zod';
import { boundedList } from './bounds';
import { scheduleLabel } from './guidance-schedule-text';
import { ClassIndex, GuidanceMode, GuidanceScheduleSetting, RunRequest, SamplerName, Seed, StepsText } from './run-request';

/** Values one axis may hold; 16 × 16 cells is already 256 runs, the queue's limit. */
export const MAX_AXIS_VALUES = 16;

function axisValues<T extends z.ZodType>(value: T, what: string) {
  return boundedList(value, MAX_AXIS_VALUES, (max, got) => `an axis holds at most ${max} ${what} (got ${got}); split the sweep`).min(1, {
    error: `an axis needs at least one ${what.replace(/s$/, '')}`,
  });
}

const Scale = z.number().finite().nonnegative();
const Eta = z.number().finite().min(0).max(1);
const CfgScale = RunRequest.shape.cfgScale.unwrap();
const Schedule = z.discriminatedUnion('kind', GuidanceScheduleSetting.options, {
  error: 'a schedule is one of constant, interval (with tLo and tHi) or ramp (with from and to), as --schedule writes them',
});

/** One axis of a sweep: which setting it changes and the values it takes, in order. */
export const SweepAxis = z.discriminatedUnion(
  'setting',
  [
    z.object({ setting: z.literal('scale'), values: axisValues(Scale, 'guidance scales') }),
    z.object({ setting: z.literal('class'), values: axisValues(ClassIndex, 'classes') }),
    z.object({ setting: z.literal('steps'), values: axisValues(StepsText, 'step settings') }),
    /** A sampler goes with its own steps setting, since "ddim25" means nothing to DDPM. */
    z.object({ setting: z.literal('sampler'), values: axisValues(z.object({ sampler: SamplerName, steps: StepsText }), 'samplers') }),
    z.object({ setting: z.literal('seed'), values: axisValues(Seed, 'seeds') }),
    z.object({ setting: z.literal('eta'), values: axisValues(Eta, 'η values') }),
    z.object({ setting: z.literal('mode'), values: axisValues(GuidanceMode, 'guidance modes') }),
    /** w of classifier-free guidance; read only in the classifier-free modes. */
    z.object({ setting: z.literal('cfgScale'), values: axisValues(CfgScale, 'classifier-free weights') }),
    /** How the classifier scale changes over t; read only in the modes the classifier guides. */
    z.object({ setting: z.literal('schedule'), values: axisValues(Schedule, 'guidance schedules') }),
  ],
  { error: 'an axis changes one of: scale, class, steps, sampler, seed, eta, mode, cfgScale, schedule' },
);
export type SweepAxis = z.infer<typeof SweepAxis>;
export type SweepSetting = SweepAxis['setting'];

export const GridSweepRequest = z
  .object({
    /** What every cell shares; the two axes override their settings in it. */
    request: RunRequest,
    x: SweepAxis,
    /** Absent: a single row. */
    y: SweepAxis.optional(),
    recordTrajectory: z.boolean().default(false),
  })
  .refine((sweep) => sweep.y === undefined || sweep.y.setting !== sweep.x.setting, {
    error: 'the two axes of a sweep must change different settings',
    path: ['y'],
  });
export type GridSweepRequest = z.infer<typeof GridSweepRequest>;
export type GridSweepRequestInput = z.input<typeof GridSweepRequest>;

export const GridSweepHandle = z.object({
  sweepId: z.string(),
  /** One queue entry per cell, row by row: `x` and `y` index the axes' values. */
  cells: z.array(z.object({ jobId: z.number().int().positive(), x: z.number().int().nonnegative(), y: z.number().int().nonnegative() })),
});
export type GridSweepHandle = z.infer<typeof GridSweepHandle>;

/** The number of values of an axis (1 for a missing y axis). */
export function axisLength(axis: SweepAxis | undefined): number {
  return axis === undefined ? 1 : axis.values.length;
}

/** The base request with the axis's `index`-th value applied. */
export function withAxisValue(request: RunRequest, axis: SweepAxis, index: number): RunRequest {
  switch (axis.setting) {
    case 'scale':
      return { ...request, scale: axis.values[index]! };
    case 'class':
      return { ...request, classIndex: axis.values[index]! };
    case 'steps':
      return { ...request, steps: axis.values[index]! };
    case 'sampler':
      return { ...request, ...axis.values[index]! };
    case 'seed':
      return { ...request, seeds: [axis.values[index]!] };
    case 'eta':
      return { ...request, eta: axis.values[index]! };
    case 'mode':
      return { ...request, mode: axis.values[index]! };
    case 'cfgScale':
      return { ...request, cfgScale: axis.values[index]! };
    case 'schedule':
      return { ...request, guidanceSchedule: axis.values[index]! };
  }
}

/** The request of the cell at column `x`, row `y`. */
export function cellRequest(sweep: GridSweepRequest, x: number, y: number): RunRequest {
  const row = sweep.y === undefined ? sweep.request : withAxisValue(sweep.request, sweep.y, y);
  return withAxisValue(row, sweep.x, x);
}

/** A short label of an axis value for the grid's edges: "scale 4", "DDIM ddim25", "w = 2", "schedule interval 200–800". */
export function axisValueLabel(axis: SweepAxis, index: number, classNames: readonly string[] = []): string {
  switch (axis.setting) {
    case 'scale':
      return `scale ${axis.values[index]}`;
    case 'class':
      return classNames[axis.values[index]!] ?? `class ${axis.values[index]}`;
    case 'steps':
      return `${axis.values[index]} steps`;
    case 'sampler': {
      const value = axis.values[index]!;
      return `${value.sampler.toUpperCase()} ${value.steps}`;
    }
    case 'seed':
      return `seed ${axis.values[index]}`;
    case 'eta':
      return `η ${axis.values[index]}`;
    case 'mode':
      return axis.values[index]!;
    case 'cfgScale':
      return `w = ${axis.values[index]}`;
    case 'schedule':
      return `schedule ${scheduleLabel(axis.values[index]!)}`;
  }
}

/** How a sentence names the cell at column `x`, row `y`: by its row and column labels, or its column alone in a single row. */
export function cellName(x: SweepAxis, xIndex: number, y: SweepAxis | undefined, yIndex: number, classNames: readonly string[] = []): string {
  const column = axisValueLabel(x, xIndex, classNames);
  return y === undefined ? `the cell "${column}"` : `the cell at row "${axisValueLabel(y, yIndex, classNames)}", column "${column}"`;
}

/** Every cell of a sweep, row by row: its position, its request and its name. */
export function sweepCells(sweep: GridSweepRequest, classNames: readonly string[] = []): { x: number; y: number; request: RunRequest; name: string }[] {
  const cells = [];
  for (let y = 0; y < axisLength(sweep.y); y++) {
    for (let x = 0; x < sweep.x.values.length; x++) cells.push({ x, y, request: cellRequest(sweep, x, y), name: cellName(sweep.x, x, sweep.y, y, classNames) });
  }
  return cells;
}

/** Keyword of the PNG text chunk that carries a sweep grid's recipe. */
export const SWEEP_RECIPE_PNG_KEYWORD = 'gds-sweep';
/** Version of the sweep recipe layout; readers accept this version and older ones. */
export const SWEEP_RECIPE_FORMAT = 1;

/** What a grid PNG carries: the whole sweep, so importing it restores every setting of both axes. */
export const SweepRecipe = z.object({
  kind: z.literal('sweep'),
  format: z.number().int().min(1).max(SWEEP_RECIPE_FORMAT),
  model: z.object({ id: z.string(), sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be a lowercase hex sha256') }),
  sweep: GridSweepRequest,
  noiseAlgorithm: z.string().min(1).max(200),
  appVersion: z.string().min(1).max(100),
});
export type SweepRecipe = z.infer<typeof SweepRecipe>;
