/** The samplers by the name a run request uses. */
import { ddimSample } from './ddim';
import { ddpmSample } from './ddpm';
import type { Sampler } from './sampler';

export const samplers: Readonly<Record<'ddpm' | 'ddim', Sampler>> = { ddpm: ddpmSample, ddim: ddimSample };
