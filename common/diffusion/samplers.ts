/** The samplers by the name a run request uses. */
import { ddimSample } from './ddim';
import { ddpmSample } from './ddpm';
import { dpmSolverPlusPlus2mSample } from './dpm-solver';
import type { Sampler } from './sampler';

export type SamplerKind = 'ddpm' | 'ddim' | 'dpmpp2m';

export const samplers: Readonly<Record<SamplerKind, Sampler>> = { ddpm: ddpmSample, ddim: ddimSample, dpmpp2m: dpmSolverPlusPlus2mSample };
