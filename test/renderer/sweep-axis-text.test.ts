import { describe, expect, it } from 'vitest';
import { axisText, parseAxis } from '../../renderer/src/features/sweep/axis-text';

const classNames = ['T-shirt/top', 'Trouser', 'Sneaker'];

describe('sweep axis text', () => {
  it('reads each setting in the form a user types it', () => {
    expect(parseAxis('scale', '0, 2 4.5', classNames)).toEqual({ ok: true, axis: { setting: 'scale', values: [0, 2, 4.5] } });
    expect(parseAxis('class', 'sneaker, 1', classNames)).toEqual({ ok: true, axis: { setting: 'class', values: [2, 1] } });
    expect(parseAxis('steps', 'ddim10 10,15,20; 50', classNames)).toEqual({ ok: true, axis: { setting: 'steps', values: ['ddim10', '10,15,20', '50'] } });
    expect(parseAxis('sampler', 'ddim:ddim25 ddpm:50', classNames)).toEqual({ ok: true, axis: { setting: 'sampler', values: [{ sampler: 'ddim', steps: 'ddim25' }, { sampler: 'ddpm', steps: '50' }] } });
    expect(parseAxis('seed', '1 2 4294967295', classNames)).toEqual({ ok: true, axis: { setting: 'seed', values: [1, 2, 4294967295] } });
    expect(parseAxis('mode', 'conditional unconditional+classifier', classNames)).toEqual({ ok: true, axis: { setting: 'mode', values: ['conditional', 'unconditional+classifier'] } });
    expect(parseAxis('cfgScale', '1, 2 4.5', classNames)).toEqual({ ok: true, axis: { setting: 'cfgScale', values: [1, 2, 4.5] } });
    expect(parseAxis('schedule', 'constant interval:200-800; ramp:4-0', classNames)).toEqual({
      ok: true,
      axis: { setting: 'schedule', values: [{ kind: 'constant' }, { kind: 'interval', tLo: 200, tHi: 800 }, { kind: 'ramp', from: 4, to: 0 }] },
    });
  });

  it('says what is wrong with each kind of bad value', () => {
    const problem = (setting: Parameters<typeof parseAxis>[0], text: string) => {
      const parsed = parseAxis(setting, text, classNames);
      return parsed.ok ? null : parsed.problem;
    };
    expect(problem('scale', '')).toMatch(/^Scales: type at least one value, such as 0, 2, 4\.$/);
    expect(problem('scale', '1, lots')).toMatch(/^Scales: value 2: /);
    expect(problem('scale', '-1')).toMatch(/^Scales: value 1: /);
    expect(problem('eta', '0, 2')).toMatch(/^η values: value 2: /);
    expect(problem('seed', '1.5')).toMatch(/^Seeds: value 1: a seed must be a whole number/);
    expect(problem('class', 'zebra')).toBe('Classes: no class named “zebra”.');
    expect(problem('class', '9')).toBe('Classes: no class 9 in this model (it has 3: 0–2).');
    expect(problem('sampler', 'ddim')).toBe('Samplers: “ddim” is not sampler:steps such as ddim:ddim25.');
    expect(problem('mode', 'guided')).toBe('Modes: “guided” is not a guidance mode.');
    expect(problem('seed', Array.from({ length: 17 }, (_, i) => i).join(' '))).toBe('Seeds: at most 16 values an axis (got 17).');
    expect(problem('cfgScale', '2, -1')).toBe('Classifier-free weights w: value 2: the classifier-free guidance weight must be 0 or more.');
    expect(problem('cfgScale', 'strong')).toBe('Classifier-free weights w: value 1: the classifier-free guidance weight must be a number.');
    expect(problem('cfgScale', '')).toBe('Classifier-free weights w: type at least one value, such as 1, 2, 4.');
    expect(problem('schedule', 'constant wave')).toBe(
      'Schedules: value 2 must be "constant", "interval:LO-HI" with whole timesteps (e.g. interval:200-800) or "ramp:FROM-TO" with factors (e.g. ramp:1.5-0), got "wave".',
    );
    expect(problem('schedule', 'interval:20.5-70')).toMatch(/^Schedules: value 1 must be "constant"/);
    expect(problem('schedule', 'ramp:500-0')).toMatch(/^Schedules: value 1 "ramp:500-0": the ramp start factor /);
  });

  it('writes an axis back as text that reads to the same axis', () => {
    for (const [setting, text] of [['class', 'Sneaker, Trouser'], ['sampler', 'ddpm:50 ddim:ddim5'], ['steps', '10,15,20 ddim25'], ['scale', '0, 1.5'], ['cfgScale', '0, 2.5'], ['schedule', 'ramp:4-0 interval:200-800 constant']] as const) {
      const parsed = parseAxis(setting, text, classNames);
      if (!parsed.ok) throw new Error(parsed.problem);
      expect(parseAxis(setting, axisText(parsed.axis, classNames), classNames)).toEqual(parsed);
    }
  });
});
