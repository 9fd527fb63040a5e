/** --schedule: how the classifier scale changes over the timesteps, as one word on the command line. */
import { InvalidArgumentError } from 'commander';
import { GuidanceScheduleSetting } from '../../common/contract/run-request';

const NUMBER = String.raw`\d+(?:\.\d+)?`;
const INTERVAL = new RegExp(`^interval:(\\d+)-(\\d+)$`);
const RAMP = new RegExp(`^ramp:(${NUMBER})-(${NUMBER})$`);

export const SCHEDULE_HELP = 'guidance schedule over t: constant, interval:LO-HI (guide only for LO ≤ t ≤ HI) or ramp:FROM-TO (scale times FROM at the noisiest step, TO at t = 0)';

/** "constant", "interval:20-70" or "ramp:1.5-0" → the contract's schedule; a sentence otherwise. */
export function parseGuidanceSchedule(text: string): GuidanceScheduleSetting {
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
  if (candidate === null) {
    throw new InvalidArgumentError(`--schedule must be "constant", "interval:LO-HI" with whole timesteps (e.g. interval:200-800) or "ramp:FROM-TO" with factors (e.g. ramp:1.5-0), got "${text}".`);
  }
  const parsed = GuidanceScheduleSetting.safeParse(candidate);
  if (!parsed.success) throw new InvalidArgumentError(`--schedule "${text}": ${parsed.error.issues[0]?.message ?? 'not a schedule'}.`);
  return parsed.data;
}
