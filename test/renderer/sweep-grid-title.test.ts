/** The exported grid's title names what every cell shares and leaves the swept settings to the axis labels. */
import { describe, expect, it } from 'vitest';
import type { RunRequest } from '../../common/contract/run-request';
import type { GridSweepRequest } from '../../common/contract/sweep-grid';
import { gridTitle } from '../../renderer/src/features/sweep/grid-title';

const classNames = ['T-shirt/top', 'Trouser'];
const request: RunRequest = { modelId: 'fashion-mnist', classIndex: 1, mode: 'classifier-free+classifier', scale: 2, sampler: 'ddim', steps: 'ddim25', eta: 0, clipDenoised: true, batchSize: 1, provider: 'cpu', seeds: [1] };
const sweep = (base: Partial<RunRequest>, x: GridSweepRequest['x'], y?: GridSweepRequest['y']): GridSweepRequest => ({ request: { ...request, ...base }, x, ...(y ? { y } : {}), recordTrajectory: false });

describe('the grid title', () => {
  it('leaves w and the schedule to the axes that sweep them', () => {
    expect(gridTitle(sweep({}, { setting: 'cfgScale', values: [1, 3] }, { setting: 'schedule', values: [{ kind: 'constant' }] }), 'Fashion-MNIST', classNames)).toBe(
      'Fashion-MNIST · Trouser · classifier-free+classifier · DDIM ddim25',
    );
  });

  it('names the w and the schedule every cell shares, the default w included', () => {
    expect(gridTitle(sweep({ guidanceSchedule: { kind: 'interval', tLo: 200, tHi: 800 } }, { setting: 'scale', values: [0, 4] }), 'Fashion-MNIST', classNames)).toBe(
      'Fashion-MNIST · Trouser · classifier-free+classifier · w = 2 · schedule interval 200–800 · DDIM ddim25',
    );
    expect(gridTitle(sweep({ cfgScale: 4 }, { setting: 'schedule', values: [{ kind: 'constant' }] }), 'Fashion-MNIST', classNames)).toBe('Fashion-MNIST · Trouser · classifier-free+classifier · w = 4 · DDIM ddim25');
  });

  it('says no w in a mode that does not read it, and leaves the class and steps to their axes', () => {
    expect(gridTitle(sweep({ mode: 'conditional+classifier', cfgScale: 4 }, { setting: 'class', values: [0, 1] }, { setting: 'steps', values: ['ddim10', 'ddim25'] }), 'Fashion-MNIST', classNames)).toBe(
      'Fashion-MNIST · conditional+classifier · DDIM',
    );
  });
});
