export * from './schedule';
export * from './respace';
export * from './rng';
export * from './sampler';
export { ddpmSample } from './ddpm';
export { ddimSample } from './ddim';
export * from './guidance';
export * from './preview';

import { ddimSample } from './ddim';
import { ddpmSample } from './ddpm';
import type { Sampler } from './sampler';

export const samplers: Readonly<Record<'ddpm' | 'ddim', Sampler>> = { ddpm: ddpmSample, ddim: ddimSample };
