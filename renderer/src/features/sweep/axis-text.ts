/**
 * What the user types for a sweep axis, turned into the contract's axis: numbers may be split by
 * commas or spaces; steps ("10,15,20" holds commas), samplers ("ddpm:50") and schedules
 * ("interval:200-800", the command line's --schedule form) by spaces or semicolons.
 */
import { parseScheduleText, scheduleText } from '../../../../common/contract/guidance-schedule-text';
import { GuidanceMode, SamplerName } from '../../../../common/contract/run-request';
import { MAX_AXIS_VALUES, SweepAxis, type SweepSetting } from '../../../../common/contract/sweep-grid';

export type AxisParse = { ok: true; axis: SweepAxis } | { ok: false; problem: string };

/** The settings an axis may sweep, with the names the page shows. */
export const axisSettings: { setting: SweepSetting; label: string; example: string }[] = [
  { setting: 'scale', label: 'Scales', example: '0, 2, 4' },
  { setting: 'class', label: 'Classes', example: 'sneaker, bag or 7, 8' },
  { setting: 'steps', label: 'Steps', example: 'ddim10 ddim25 50' },
  { setting: 'sampler', label: 'Samplers', example: 'ddim:ddim25 ddpm:50' },
  { setting: 'seed', label: 'Seeds', example: '1 2 3' },
  { setting: 'eta', label: 'η values', example: '0, 0.5, 1' },
  { setting: 'mode', label: 'Modes', example: 'conditional unconditional+classifier' },
  { setting: 'cfgScale', label: 'Classifier-free weights w', example: '1, 2, 4' },
  { setting: 'schedule', label: 'Schedules', example: 'constant interval:200-800 ramp:4-0' },
];

export function axisLabel(setting: SweepSetting): string {
  return axisSettings.find((candidate) => candidate.setting === setting)!.label;
}

function parts(text: string, numeric: boolean): string[] {
  return text.split(numeric ? /[,;\s]+/ : /[;\s]+/).filter((part) => part !== '');
}

function rawValues(setting: SweepSetting, text: string, classNames: readonly string[]): unknown[] | string {
  switch (setting) {
    case 'scale':
    case 'eta':
    case 'seed':
    case 'cfgScale':
      return parts(text, true).map((part) => (/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(part) ? Number(part) : part));
    case 'class':
      return text
        .split(/[,;]+/)
        .map((part) => part.trim())
        .filter((part) => part !== '')
        .map((part) => {
          if (/^\d+$/.test(part)) {
            const index = Number(part);
            return classNames.length === 0 || index < classNames.length ? index : `no class ${index} in this model (it has ${classNames.length}: 0–${classNames.length - 1})`;
          }
          const index = classNames.findIndex((name) => name.toLowerCase() === part.toLowerCase());
          return index >= 0 ? index : `no class named “${part.slice(0, 30)}”`;
        });
    case 'steps':
      return parts(text, false);
    case 'sampler':
      return parts(text, false).map((part) => {
        const [sampler, steps] = part.split(':');
        return SamplerName.safeParse(sampler).success && steps ? { sampler, steps } : `“${part.slice(0, 30)}” is not sampler:steps such as ddim:ddim25`;
      });
    case 'mode':
      return parts(text, false).map((part) => (GuidanceMode.safeParse(part).success ? part : `“${part.slice(0, 40)}” is not a guidance mode`));
    case 'schedule': {
      const schedules = [];
      for (const [position, part] of parts(text, false).entries()) {
        const parsed = parseScheduleText(part);
        if (!parsed.ok) return `value ${position + 1} ${parsed.problem}`;
        schedules.push(parsed.schedule);
      }
      return schedules;
    }
  }
}

/** The axis for `setting` from the typed text, or a sentence saying what is wrong with it. */
export function parseAxis(setting: SweepSetting, text: string, classNames: readonly string[] = []): AxisParse {
  const label = axisLabel(setting);
  const values = rawValues(setting, text, classNames);
  if (typeof values === 'string') return { ok: false, problem: `${label}: ${values}.` };
  if (values.length === 0) return { ok: false, problem: `${label}: type at least one value, such as ${axisSettings.find((candidate) => candidate.setting === setting)!.example}.` };
  if (values.length > MAX_AXIS_VALUES) return { ok: false, problem: `${label}: at most ${MAX_AXIS_VALUES} values an axis (got ${values.length}).` };
  const named = values.find((value) => typeof value === 'string' && (value.startsWith('no class') || value.includes(' is not ')));
  if (typeof named === 'string' && setting !== 'steps') return { ok: false, problem: `${label}: ${named}.` };
  const parsed = SweepAxis.safeParse({ setting, values });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return { ok: false, problem: `${label}: ${issue.path.length > 1 ? `value ${Number(issue.path[1]) + 1}: ` : ''}${issue.message}.` };
  }
  return { ok: true, axis: parsed.data };
}

/** The text that gives back `axis` (for a restored sweep). */
export function axisText(axis: SweepAxis, classNames: readonly string[] = []): string {
  switch (axis.setting) {
    case 'class':
      return axis.values.map((index) => classNames[index] ?? String(index)).join(', ');
    case 'sampler':
      return axis.values.map((value) => `${value.sampler}:${value.steps}`).join(' ');
    case 'steps':
    case 'mode':
      return axis.values.join(' ');
    case 'schedule':
      return axis.values.map(scheduleText).join(' ');
    default:
      return axis.values.join(', ');
  }
}
