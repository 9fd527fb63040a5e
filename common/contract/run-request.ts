import { z } from 'zod';

/** How the class enters sampling: through the UNet's label, the classifier's gradient, or both. */
export const GuidanceMode = z.enum(['conditional', 'unconditional+classifier', 'conditional+classifier']);
export type GuidanceMode = z.infer<typeof GuidanceMode>;

/** Whether the noisy classifier's gradient steers sampling in this mode. */
export function usesClassifier(mode: GuidanceMode): boolean {
  return mode !== 'conditional';
}

export const SamplerName = z.enum(['ddpm', 'ddim']);
export type SamplerName = z.infer<typeof SamplerName>;

export const ProviderName = z.enum(['auto', 'cpu', 'cuda', 'dml', 'coreml', 'webgpu']);
export type ProviderName = z.infer<typeof ProviderName>;

/** Everything needed to produce (and reproduce) a batch of samples. */
export const RunRequest = z.object({
  modelId: z.string().min(1),
  classIndex: z.number().int().nonnegative(),
  mode: GuidanceMode,
  scale: z.number().finite().nonnegative(),
  sampler: SamplerName,
  /** Respacing string: "50", "ddim25", or comma-separated section counts such as "10,15,20". */
  steps: z.string().min(1),
  eta: z.number().finite().min(0).max(1).default(0),
  clipDenoised: z.boolean().default(true),
  seeds: z.array(z.number().int().nonnegative().max(2 ** 32 - 1)).min(1),
  batchSize: z.number().int().positive().max(256).default(4),
  provider: ProviderName.default('auto'),
});
export type RunRequest = z.infer<typeof RunRequest>;
