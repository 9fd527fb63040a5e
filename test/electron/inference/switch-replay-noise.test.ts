/**
 * Replayed noise for a run with a switch: the steps after the switch may draw step noise where
 * those before do not (DDIM at η = 0, then DDPM), so replaying only x_T is refused before any work.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunRequest } from '../../../common/contract/run-request';
import { ModelManifest } from '../../../common/models/manifest';
import { planRun } from '../../../common/models/run-plan';
import { checkReplayNoise } from '../../../electron/inference/replay-noise';
import { LINEAR_MODEL, request } from './test-models';

const manifest = ModelManifest.parse(JSON.parse(readFileSync(path.join(LINEAR_MODEL, 'manifest.json'), 'utf8')));
const perSample = manifest.image.channels * manifest.image.size ** 2;

function check(switched: RunRequest): void {
  checkReplayNoise({ initial: new Float32Array(switched.seeds.length * perSample), steps: null }, switched, planRun(manifest, switched));
}

describe('replayed noise with a switch', () => {
  it('accepts x_T alone when neither stretch draws step noise', () => {
    expect(() => check(request({ seeds: [1], switchAt: { step: 4, sampler: 'dpmpp2m' } }))).not.toThrow();
  });

  it('asks for the step noise when the steps after the switch draw it', () => {
    expect(() => check(request({ seeds: [1], switchAt: { step: 4, sampler: 'ddpm' } }))).toThrow(
      'The replayed step noise must have shape [10, 1, 1, 8, 8] for ddim10 ddim steps, but none was given.',
    );
    expect(() => check(request({ seeds: [1], switchAt: { step: 4, eta: 0.5 } }))).toThrow('The replayed step noise must have shape [10, 1, 1, 8, 8]');
  });
});
