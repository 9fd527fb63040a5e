/**
 * A guidance schedule as one word: "constant", "interval:LO-HI" or "ramp:FROM-TO". The command
 * line's --schedule, the sweep's schedule axis and the page read and write this one form, so a
 * schedule typed in one place reads the same in the others.
 */
import { GuidanceScheduleSetting } from './run-request';

const NUMBER = String.raw`\d+(?:\.\d+)?`;
const INTERVAL = /^interval:(\d+)-(\d+)$/;
const RAMP = new RegExp(`^ramp:(${NUMBER})-(${NUMBER})$`);

export type ScheduleTextParse = { ok: true; schedule: GuidanceScheduleSetting } | { ok: false; problem: string };

/**
 * "constant", "interval:200-800" or "ramp:1.5-0" → the contract's schedule. A problem is a
 * phrase that follows the name of the field it came from: `must be "constant", … got "x"`.
 */
export function parseScheduleText(text: string): ScheduleTextParse {
  const word = text.trim();
  const interval = INTERVAL.exec(word);
  const ramp = RAMP.exec(word);
  const candidate =
    word === 'constant'
      ? { kind: 'constant' }
      : interval !== null
        ? { kind: 'interval', tLo: Number(interval[1]), tHi: Number(interval[2]) }
        : ramp !== null
          ? { kind: 'ramp', from: Number(ramp[1]), to: Number(ramp[2]) }
          : null;
  const shown = text.slice(0, 40);
  if (candidate === null) {
    return {
      ok: false,
      problem: `must be "constant", "interval:LO-HI" with whole timesteps (e.g. interval:200-800) or "ramp:FROM-TO" with factors (e.g. ramp:1.5-0), got "${shown}"`,
    };
  }
  const parsed = GuidanceScheduleSetting.safeParse(candidate);
  if (!parsed.success) return { ok: false, problem: `"${shown}": ${parsed.error.issues[0]?.message ?? 'not a schedule'}` };
  return { ok: true, schedule: parsed.data };
}

/** The word that parses back to `schedule`: "constant", "interval:200-800", "ramp:4-0". */
export function scheduleText(schedule: GuidanceScheduleSetting): string {
  switch (schedule.kind) {
    case 'constant':
      return 'constant';
    case 'interval':
      return `interval:${schedule.tLo}-${schedule.tHi}`;
    case 'ramp':
      return `ramp:${schedule.from}-${schedule.to}`;
  }
}

/** How a label reads a schedule: "constant", "interval 200–800", "ramp 4→0". */
export function scheduleLabel(schedule: GuidanceScheduleSetting): string {
  switch (schedule.kind) {
    case 'constant':
      return 'constant';
    case 'interval':
      return `interval ${schedule.tLo}–${schedule.tHi}`;
    case 'ramp':
      return `ramp ${schedule.from}→${schedule.to}`;
  }
}
