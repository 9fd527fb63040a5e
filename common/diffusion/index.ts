export * from './schedule';
export * from './respace';
export * from './rng';
export * from './sampler';
export { ddpmSample } from './ddpm';
export { ddimSample } from './ddim';
export * from './guidance';
export * from './preview';

export { samplers } from './samplers';
export { dpmSolverPlusPlus2mSample } from './dpm-solver';
export * from './guidance-schedule';
export * from './classifier-free';
export * from './guidance-safety';
export type { SamplerKind } from './samplers';
