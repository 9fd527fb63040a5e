/** An evaluation started from the page draws with the settings panel's w and schedule, as a run from it does. */
import { describe, expect, it } from 'vitest';
import type { StudioApi } from '../../../common/contract/studio-api';
import { SettingsState } from '../../../renderer/src/state/settings.svelte';

const settings = (): SettingsState => new SettingsState({} as StudioApi);

describe('the guidance settings a run and an evaluation share', () => {
  it('gives the classifier-free weight only in the classifier-free modes', () => {
    const state = settings();
    state.cfgScale = 3;
    state.mode = 'classifier-free';
    expect(state.guidanceSettings()).toEqual({ cfgScale: 3 });
    state.mode = 'conditional';
    expect(state.guidanceSettings()).toEqual({});
  });

  it('gives a schedule other than constant only in the modes that call the classifier', () => {
    const state = settings();
    state.scheduleKind = 'interval';
    state.intervalLo = 200;
    state.intervalHi = 800;
    state.cfgScale = 2;
    state.mode = 'classifier-free+classifier';
    expect(state.guidanceSettings()).toEqual({ cfgScale: 2, guidanceSchedule: { kind: 'interval', tLo: 200, tHi: 800 } });
    state.mode = 'classifier-free';
    expect(state.guidanceSettings()).toEqual({ cfgScale: 2 });
    state.scheduleKind = 'constant';
    state.mode = 'conditional+classifier';
    expect(state.guidanceSettings()).toEqual({});
  });
});
