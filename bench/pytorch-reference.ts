/**
 * The bench's PyTorch side as a long-lived process (`studio_tools.bench.reference --serve`):
 * one JSON request line on its stdin, one JSON reply line on its stdout, so the engine and
 * each PyTorch variant can take turns within a round instead of running minutes apart.
 */
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { z } from 'zod';

export const PYTORCH_VARIANTS = ['eager', 'channels-last', 'compile'] as const;
export type PytorchVariant = (typeof PYTORCH_VARIANTS)[number];

const cacheLookups = z.object({
  verdict: z.enum(['hit', 'miss', 'partial', 'none']),
  fx_graph_hits: z.number(),
  fx_graph_misses: z.number(),
  aot_autograd_hits: z.number(),
  aot_autograd_misses: z.number(),
});
export type CacheLookups = z.infer<typeof cacheLookups>;

const failure = z.object({ ok: z.literal(false), error: z.string() });
const ready = z.object({
  ok: z.literal(true),
  op: z.literal('ready'),
  torch: z.string(),
  load_s: z.number(),
  compile_cache_folder: z.string().nullable(),
  weights: z.object({ folder: z.string(), reused: z.boolean(), unet_relative_error: z.number(), classifier_relative_error: z.number() }).optional(),
});
const warmUp = z.object({ ok: z.literal(true), variant: z.enum(PYTORCH_VARIANTS), batch: z.number(), threads: z.number(), steps: z.number(), warmup_s: z.number(), compile_cache: cacheLookups });
const timing = z.object({
  ok: z.literal(true),
  variant: z.enum(PYTORCH_VARIANTS),
  batch: z.number(),
  threads: z.number(),
  seconds_per_image: z.number(),
  unet_ms_per_step: z.number(),
  classifier_ms_per_step: z.number(),
  total_s: z.number(),
  steps: z.number(),
});
const flops = z.object({ ok: z.literal(true), unet_per_image: z.number(), classifier_gradient_per_image: z.number() });
const matmulPeak = z.object({ ok: z.literal(true), threads: z.number(), flops_per_s: z.number() });

export type ReferenceReady = z.infer<typeof ready>;
export type PytorchWarmUp = z.infer<typeof warmUp>;
export type PytorchTiming = z.infer<typeof timing>;
export type NetworkFlops = z.infer<typeof flops>;
export type MatmulPeak = z.infer<typeof matmulPeak>;

export interface ReferenceOptions {
  modelDir: string;
  modelId: string;
  steps: string;
  scale: number;
  threads: number;
  /** Where Inductor keeps its compiled graphs between runs. */
  compileCache: string;
}

const PYTHON = '.venv/bin/python';
const REFERENCE_MODULE = 'models/tools/src/studio_tools/bench/reference.py';

/** Training-time PyTorch weights of the same networks (config.json, unet.pt, classifier.pt), when they are here. */
function checkpointWeights(modelDir: string, modelId: string): string | null {
  const candidates = [`${modelDir}-torch`, path.join(modelDir, 'torch'), path.join('checkpoints', modelId, 'torch'), path.join('checkpoints', modelId)];
  return candidates.find((dir) => ['config.json', 'unet.pt', 'classifier.pt'].every((file) => existsSync(path.join(dir, file)))) ?? null;
}

export class PytorchReference {
  private readonly lines: AsyncIterator<string>;
  private exit: string | null = null;
  private readonly exited: Promise<string>;

  private constructor(
    private readonly child: ChildProcessByStdio<Writable, Readable, null>,
    readonly about: ReferenceReady,
    lines: AsyncIterator<string>,
  ) {
    this.lines = lines;
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve((this.exit = `the reference process ended (${signal ? `killed by ${signal}` : `code ${code}`}; its message, if any, is above)`))));
  }

  /** Starts the server and waits for its ready line; a string says why there is no PyTorch side. */
  static async start(options: ReferenceOptions): Promise<PytorchReference | string> {
    if (!existsSync(PYTHON) || !existsSync(REFERENCE_MODULE)) return 'the reference tooling (.venv, studio_tools.bench.reference) is not installed';
    const checkpoints = checkpointWeights(options.modelDir, options.modelId);
    const weights = checkpoints
      ? ['--config', path.join(checkpoints, 'config.json'), '--unet', path.join(checkpoints, 'unet.pt'), '--classifier', path.join(checkpoints, 'classifier.pt')]
      : ['--model-folder', options.modelDir, '--cache', path.join('.cache', 'bench-weights', options.modelId)];
    const args = ['-m', 'studio_tools.bench.reference', '--serve', ...weights, '--steps', options.steps, '--scale', String(options.scale), '--threads', String(options.threads), '--compile-cache', options.compileCache];
    // Passive OpenMP waiting matches the engine's non-spinning onnxruntime pools; spinning
    // threads on shared cores slow PyTorch by orders of magnitude.
    const child = spawn(PYTHON, args, { env: { ...process.env, PYTHONPATH: 'models/tools/src', OMP_WAIT_POLICY: 'PASSIVE' }, stdio: ['pipe', 'pipe', 'inherit'] });
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const started = await new Promise<string>((resolve) => {
      child.once('error', (error) => resolve(`the reference could not start: ${error.message}`));
      lines.next().then((line) => resolve(line.done ? 'the reference exited before it was ready (its message is above)' : line.value), (error: Error) => resolve(error.message));
    });
    const parsed = parseReply(started, ready);
    if (typeof parsed === 'string') {
      child.kill();
      return parsed;
    }
    return new PytorchReference(child, parsed, lines);
  }

  warmUp(variant: PytorchVariant, batch: number, threads: number): Promise<PytorchWarmUp> {
    return this.ask({ op: 'warm-up', variant, batch, threads }, warmUp);
  }

  time(variant: PytorchVariant, batch: number, threads: number): Promise<PytorchTiming> {
    return this.ask({ op: 'time', variant, batch, threads }, timing);
  }

  flops(): Promise<NetworkFlops> {
    return this.ask({ op: 'flops' }, flops);
  }

  matmulPeak(threads: number): Promise<MatmulPeak> {
    return this.ask({ op: 'matmul-peak', threads }, matmulPeak);
  }

  async close(): Promise<void> {
    if (this.exit !== null) return;
    this.child.stdin.end(`${JSON.stringify({ op: 'quit' })}\n`);
    await this.exited;
  }

  /** One request, one reply; requests never overlap, since each caller awaits its reply. */
  private async ask<T extends z.ZodType>(request: object, schema: T): Promise<z.infer<T>> {
    if (this.exit !== null) throw new Error(this.exit);
    this.child.stdin.write(`${JSON.stringify(request)}\n`);
    const line = await this.lines.next();
    // Its output ends before the exit event comes; wait for that, which says how it ended.
    if (line.done) throw new Error(`PyTorch reference, ${JSON.stringify(request)}: ${await this.exited}`);
    const parsed = parseReply(line.value, schema);
    if (typeof parsed === 'string') throw new Error(`PyTorch reference, ${JSON.stringify(request)}: ${parsed}`);
    return parsed;
  }
}

function parseReply<T extends z.ZodType>(line: string, schema: T): z.infer<T> | string {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    return `the reference answered a line that is not JSON: ${line.slice(0, 200)}`;
  }
  const refused = failure.safeParse(json);
  if (refused.success) return refused.data.error;
  const parsed = schema.safeParse(json);
  return parsed.success ? parsed.data : `the reference's reply does not have the expected fields (${parsed.error.issues[0]?.path.join('.') ?? ''}: ${parsed.error.issues[0]?.message ?? ''})`;
}
