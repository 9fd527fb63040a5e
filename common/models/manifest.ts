import { z } from 'zod';

/** A file name inside the model folder: no separators, no parent references. */
const LocalFile = z
  .string()
  .min(1)
  .refine((name) => !/[\\/]/.test(name) && name !== '.' && name !== '..', {
    message: 'must be a plain file name inside the model folder',
  });

const Sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'must be a lowercase hex sha256');

export const NoiseSchedule = z.enum(['linear', 'cosine']);

export const ModelManifest = z.object({
  format: z.literal(1),
  id: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'lowercase letters, digits, ".", "_" and "-"'),
  name: z.string().min(1),
  source: z.string(),
  license: z.string(),
  image: z.object({
    size: z.number().int().positive(),
    channels: z.number().int().positive(),
  }),
  classes: z.object({
    count: z.number().int().positive(),
    /** Human name of each class, index = label. */
    names: z.array(z.string().min(1)),
    /** Other names each class answers to (for search), index = label. */
    synonyms: z.array(z.array(z.string())),
    /** Label the UNet was trained with for "no class" (label dropout), or null. */
    null_class: z.number().int().nonnegative().nullable(),
  }),
  diffusion: z.object({
    steps: z.number().int().positive(),
    noise_schedule: NoiseSchedule,
    learn_sigma: z.boolean(),
    predict: z.literal('eps'),
    rescale_timesteps: z.boolean(),
  }),
  unet: z.object({
    file: LocalFile,
    /** Half-precision variant for GPU providers, if exported. */
    fp16_file: LocalFile.nullable(),
    class_cond: z.boolean(),
    inputs: z.object({ x: z.string(), t: z.string(), y: z.string().nullable() }),
    output: z.string(),
    /** "dynamic", or the fixed batch sizes the graph accepts. */
    batch: z.union([z.literal('dynamic'), z.array(z.number().int().positive()).min(1)]),
  }),
  classifier: z
    .object({
      file: LocalFile,
      inputs: z.object({ x: z.string(), t: z.string(), y: z.string() }),
      outputs: z.object({ grad: z.string(), logits: z.string() }),
    })
    .nullable(),
  evaluator: z
    .object({
      file: LocalFile,
      input: z.string(),
      outputs: z.object({ features: z.string(), logits: z.string() }),
      /** Statistics of the real data: feature mean [D], covariance [D,D] (float64) and features [N,D] (float32). */
      reference: z.object({ mu: LocalFile, sigma: LocalFile, features: LocalFile }),
    })
    .nullable(),
  defaults: z.object({
    mode: z.enum(['conditional', 'unconditional+classifier', 'conditional+classifier']),
    sampler: z.enum(['ddpm', 'ddim']),
    steps: z.string(),
    scale: z.number().nonnegative(),
    eta: z.number().min(0).max(1),
  }),
  /** sha256 of every file the manifest names. */
  files: z.record(LocalFile, Sha256),
});
export type ModelManifest = z.infer<typeof ModelManifest>;
