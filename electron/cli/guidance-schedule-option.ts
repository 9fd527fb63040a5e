/** --schedule: how the classifier scale changes over the timesteps, as one word on the command line. */
import { InvalidArgumentError } from 'commander';
import type { GuidanceScheduleSetting } from '../../common/contract/run-request';
import { parseScheduleText } from '../../common/contract/guidance-schedule-text';

export const SCHEDULE_HELP = 'guidance schedule over t: constant, interval:LO-HI (guide only for LO ≤ t ≤ HI) or ramp:FROM-TO (scale times FROM at the noisiest step, TO at t = 0)';

/** "constant", "interval:20-70" or "ramp:1.5-0" → the contract's schedule; a sentence otherwise. */
export function parseGuidanceSchedule(text: string): GuidanceScheduleSetting {
  const parsed = parseScheduleText(text);
  if (!parsed.ok) throw new InvalidArgumentError(`--schedule ${parsed.problem}.`);
  return parsed.schedule;
}
