/**
 * The one text form of a guidance schedule, shared by the command line's --schedule, the sweep's
 * schedule axis and the page: each kind reads as the contract's schedule, writes back to the
 * same word, and a bad word gets a phrase that says which forms exist.
 */
import { describe, expect, it } from 'vitest';
import { parseScheduleText, scheduleLabel, scheduleText } from '../../common/contract/guidance-schedule-text';
import { GuidanceScheduleSetting } from '../../common/contract/run-request';

describe('the schedule text form', () => {
  it.each([
    ['constant', { kind: 'constant' }, 'constant'],
    ['interval:200-800', { kind: 'interval', tLo: 200, tHi: 800 }, 'interval 200–800'],
    ['ramp:4-0', { kind: 'ramp', from: 4, to: 0 }, 'ramp 4→0'],
    ['ramp:1.5-0.25', { kind: 'ramp', from: 1.5, to: 0.25 }, 'ramp 1.5→0.25'],
  ] as [string, GuidanceScheduleSetting, string][])('reads "%s" as the contract holds it and writes it back', (text, schedule, label) => {
    expect(parseScheduleText(text)).toEqual({ ok: true, schedule });
    expect(scheduleText(schedule)).toBe(text);
    expect(scheduleLabel(schedule)).toBe(label);
  });

  it('trims the spaces around a word', () => {
    expect(parseScheduleText('  interval:20-70 ')).toEqual({ ok: true, schedule: { kind: 'interval', tLo: 20, tHi: 70 } });
  });

  it.each(['wave', 'interval:200', 'interval:20.5-70', 'interval:-5-70', 'ramp:4', 'ramp:a-b', 'Constant', ''])('refuses "%s", naming the forms it takes', (text) => {
    const parsed = parseScheduleText(text);
    expect(parsed).toEqual({ ok: false, problem: `must be "constant", "interval:LO-HI" with whole timesteps (e.g. interval:200-800) or "ramp:FROM-TO" with factors (e.g. ramp:1.5-0), got "${text}"` });
  });

  it('refuses a ramp factor past the largest guidance scale with the contract\'s sentence about that factor', () => {
    const parsed = parseScheduleText('ramp:500-0');
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.problem).toBe('"ramp:500-0": the ramp start factor must be at most 100');
  });

  it('names the schedule kinds when a request carries an unknown one', () => {
    const parsed = GuidanceScheduleSetting.safeParse({ kind: 'wave' });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((issue) => issue.message)).toEqual(['the guidance schedule kind must be constant, interval or ramp']);
  });

  it('cuts a long bad word in its sentence, so a pasted page does not flood the message', () => {
    const parsed = parseScheduleText('x'.repeat(5000));
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.problem.length).toBeLessThan(220);
  });
});
