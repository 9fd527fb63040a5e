import { z } from 'zod';
import { boundedList, boundedText, boundedWholeNumber, MAX_CLASS_COUNT, requiredText, TEXT_LIMITS } from '../contract/bounds';

/** T, the training steps: guided-diffusion uses 1000 or 4000. */
export const MAX_DIFFUSION_STEPS = 100_000;
/** Side of the square images, in pixels: the released checkpoints go up to 512. */
export const MAX_IMAGE_SIZE = 1024;
/** Characters of a file name, a graph input or output name, or a free-text field. */
const MAX_NAME_LENGTH = 255;
const MAX_DESCRIPTION_LENGTH = 2000;
/** Other names one class may answer to. */
const MAX_SYNONYMS_PER_CLASS = 64;

/** A file name inside the model folder: no separators, no parent references. */
const LocalFile = requiredText('a file name', MAX_NAME_LENGTH)
  .refine((name) => !/[\\/]/.test(name) && name !== '.' && name !== '..', {
    message: 'must be a plain file name inside the model folder',
  });

/** Name of an input or output of an ONNX graph. */
const GraphName = boundedText('a graph input or output name', MAX_NAME_LENGTH);

const Sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'must be a lowercase hex sha256');

export const NoiseSchedule = z.enum(['linear', 'cosine']);

export const ModelManifest = z.object({
  format: z.literal(1),
  id: requiredText('a model id', TEXT_LIMITS.modelId).regex(/^[a-z0-9][a-z0-9._-]*$/, 'lowercase letters, digits, ".", "_" and "-"'),
  name: requiredText('the model name', MAX_NAME_LENGTH),
  source: boundedText('the source', MAX_DESCRIPTION_LENGTH),
  license: boundedText('the license', MAX_DESCRIPTION_LENGTH),
  image: z.object({
    size: boundedWholeNumber('image.size', 1, MAX_IMAGE_SIZE),
    channels: z.union([z.literal(1), z.literal(3)], { error: 'image.channels must be 1 (grey) or 3 (RGB)' }),
  }),
  classes: z.object({
    count: boundedWholeNumber('classes.count', 1, MAX_CLASS_COUNT),
    /** Human name of each class, index = label. */
    names: boundedList(requiredText('a class name', TEXT_LIMITS.className), MAX_CLASS_COUNT, (max, got) => `at most ${max} class names (got ${got})`),
    /** Other names each class answers to (for search), index = label. */
    synonyms: boundedList(
      boundedList(boundedText('a class synonym', TEXT_LIMITS.className), MAX_SYNONYMS_PER_CLASS, (max, got) => `at most ${max} synonyms per class (got ${got})`),
      MAX_CLASS_COUNT,
      (max, got) => `at most ${max} synonym lists (got ${got})`,
    ),
    /** Label the UNet was trained with for "no class" (label dropout), or null. */
    null_class: z.number().int().nonnegative().nullable(),
  }),
  diffusion: z.object({
    steps: boundedWholeNumber('diffusion.steps', 1, MAX_DIFFUSION_STEPS),
    noise_schedule: NoiseSchedule,
    learn_sigma: z.boolean(),
    predict: z.literal('eps'),
    /** The networks were trained on t·1000/T; the graphs take integer t, so only T = 1000 (where it changes nothing) is allowed. */
    rescale_timesteps: z.boolean(),
  }).refine((diffusion) => !diffusion.rescale_timesteps || diffusion.steps === 1000, {
    path: ['rescale_timesteps'],
    message:
      'rescale_timesteps needs the fractional timesteps t·1000/T, but the graphs take whole-number t; only T = 1000 (where they are the same) is supported. Convert the model with T = 1000 or without rescaled timesteps.',
  }),
  unet: z.object({
    file: LocalFile,
    /** Half-precision variant for GPU providers, if exported. */
    fp16_file: LocalFile.nullable(),
    class_cond: z.boolean(),
    inputs: z.object({ x: GraphName, t: GraphName, y: GraphName.nullable() }),
    output: GraphName,
    /** "dynamic", or the fixed batch sizes the graph accepts. */
    batch: z.union([z.literal('dynamic'), z.array(z.number().int().positive()).min(1)]),
  }),
  classifier: z
    .object({
      file: LocalFile,
      inputs: z.object({ x: GraphName, t: GraphName, y: GraphName }),
      outputs: z.object({ grad: GraphName, logits: GraphName }),
    })
    .nullable(),
  evaluator: z
    .object({
      file: LocalFile,
      input: GraphName,
      /**
       * `spatial`: an output of spatial features [N, S] (the reference evaluator's first 7
       * channels of mixed_6/conv, flattened), for sFID; evaluators without one have no sFID.
       */
      outputs: z.object({ features: GraphName, logits: GraphName, spatial: GraphName.optional() }),
      /**
       * Statistics of the real data: feature mean [D], covariance [D,D] (float64) and features
       * [N,D] (float32); with a spatial output, the spatial features' mean and covariance too.
       */
      reference: z.object({ mu: LocalFile, sigma: LocalFile, features: LocalFile, spatial_mu: LocalFile.optional(), spatial_sigma: LocalFile.optional() }),
    })
    .nullable(),
  defaults: z.object({
    mode: z.enum(['conditional', 'unconditional+classifier', 'conditional+classifier']),
    sampler: z.enum(['ddpm', 'ddim']),
    steps: boundedText('defaults.steps', TEXT_LIMITS.steps),
    scale: z.number().nonnegative(),
    eta: z.number().min(0).max(1),
  }),
  /** sha256 of every file the manifest names. */
  files: z.record(LocalFile, Sha256),
});
export type ModelManifest = z.infer<typeof ModelManifest>;
