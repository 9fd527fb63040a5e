import { appendFileSync, cpSync, mkdtempSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunRequest } from '../../../common/contract/run-request';
import { createEngine, type RunResult } from '../../../electron/inference';
import { cpuinfoFlags, withOptimizedGraph, type ProcessorIdentity } from '../../../electron/inference/optimized-graph-cache';
import { ort } from '../../../electron/inference/sessions';

const fixtures = path.join(import.meta.dirname, '..', '..', 'fixtures');
const builtInModel = path.join(import.meta.dirname, '..', '..', '..', 'models', 'fashion-mnist');
const options: ort.InferenceSession.SessionOptions = { executionProviders: ['cpu'], intraOpNumThreads: 1, graphOptimizationLevel: 'all' };

let cacheDir: string;
let modelDir: string;
beforeEach(() => {
  cacheDir = mkdtempSync(path.join(tmpdir(), 'gds-graph-cache-'));
  modelDir = path.join(mkdtempSync(path.join(tmpdir(), 'gds-graph-model-')), 'tiny-model');
  cpSync(path.join(fixtures, 'tiny-model'), modelDir, { recursive: true });
});
afterEach(() => {
  rmSync(cacheDir, { recursive: true, force: true });
  rmSync(path.dirname(modelDir), { recursive: true, force: true });
});

/** Every create call, with the file and the options that reached onnxruntime. */
function recordingCreate(): { calls: { graph: string | Uint8Array; options: ort.InferenceSession.SessionOptions }[]; create: (graph: string | Uint8Array, options: ort.InferenceSession.SessionOptions) => Promise<ort.InferenceSession> } {
  const calls: { graph: string | Uint8Array; options: ort.InferenceSession.SessionOptions }[] = [];
  return {
    calls,
    create: (graph, sessionOptions) => {
      calls.push({ graph, options: sessionOptions });
      return typeof graph === 'string' ? ort.InferenceSession.create(graph, sessionOptions) : ort.InferenceSession.create(graph, sessionOptions);
    },
  };
}

/** The UNet's output for a fixed input, as bytes. */
async function unetOutput(session: ort.InferenceSession): Promise<Buffer> {
  const batch = 2;
  const metadata = session.inputMetadata[0]!;
  const [, channels, height, width] = metadata.isTensor ? metadata.shape.map((dim) => (typeof dim === 'number' ? dim : batch)) : [];
  const size = batch * channels! * height! * width!;
  const x = new ort.Tensor('float32', Float32Array.from({ length: size }, (_, i) => Math.sin(i * 0.37)), [batch, channels!, height!, width!]);
  const feeds: Record<string, ort.Tensor> = { [session.inputNames[0]!]: x, [session.inputNames[1]!]: new ort.Tensor('int64', BigInt64Array.from([400n, 400n]), [batch]) };
  if (session.inputNames[2]) feeds[session.inputNames[2]] = new ort.Tensor('int64', BigInt64Array.from([1n, 2n]), [batch]);
  const outputs = await session.run(feeds);
  return Buffer.from((outputs[session.outputNames[0]!]!.data as Float32Array).buffer);
}

describe('optimised graph copies', () => {
  it('writes a copy on the first CPU open and opens that copy, unoptimised, afterwards, with the same outputs', async () => {
    const unet = path.join(modelDir, 'unet.onnx');
    const plain = await unetOutput(await ort.InferenceSession.create(unet, options));
    const { calls, create } = recordingCreate();
    const open = withOptimizedGraph('cpu', create, { cacheDir });

    const first = await open(unet, options);
    expect(readdirSync(cacheDir)).toHaveLength(1);
    const copy = path.join(cacheDir, readdirSync(cacheDir)[0]!);
    const second = await open(unet, options);

    expect(calls.map((call) => [call.graph, call.options.graphOptimizationLevel])).toEqual([
      [unet, 'all'],
      [copy, 'disabled'],
    ]);
    expect(await unetOutput(first)).toEqual(plain);
    expect(await unetOutput(second)).toEqual(plain);
  });

  it('makes a new copy when any file of the model folder changed, so new weights are never run from an old copy', async () => {
    const unet = path.join(modelDir, 'unet.onnx');
    const open = withOptimizedGraph('cpu', recordingCreate().create, { cacheDir });
    await open(unet, options);
    appendFileSync(path.join(modelDir, 'manifest.json'), '\n');
    await open(unet, options);
    expect(readdirSync(cacheDir)).toHaveLength(2);
  });

  it('opens the original when the copy is damaged, and writes a sound copy in its place', async () => {
    const unet = path.join(modelDir, 'unet.onnx');
    const open = withOptimizedGraph('cpu', recordingCreate().create, { cacheDir });
    await open(unet, options);
    const copy = path.join(cacheDir, readdirSync(cacheDir)[0]!);
    const soundSize = statSync(copy).size;
    writeFileSync(copy, 'not an onnx model');

    const session = await open(unet, options);
    expect(await unetOutput(session)).toEqual(await unetOutput(await ort.InferenceSession.create(unet, options)));
    expect(readdirSync(cacheDir)).toEqual([path.basename(copy)]);
    expect(statSync(copy).size).toBe(soundSize);
  });

  it('leaves other providers and graphs given as bytes to onnxruntime as they are', async () => {
    const { calls, create } = recordingCreate();
    const unet = path.join(modelDir, 'unet.onnx');
    await expect(withOptimizedGraph('webgpu', create, { cacheDir })(unet, { ...options, executionProviders: ['webgpu'] })).rejects.toThrow();
    const bytes = new Uint8Array(await import('node:fs/promises').then((fs) => fs.readFile(unet)));
    await withOptimizedGraph('cpu', create, { cacheDir })(bytes, options);
    expect(calls.map((call) => [typeof call.graph === 'string' ? call.graph : 'bytes', call.options.graphOptimizationLevel, call.options.optimizedModelFilePath])).toEqual([
      [unet, 'all', undefined],
      ['bytes', 'all', undefined],
    ]);
    expect(readdirSync(cacheDir)).toEqual([]);
  });

  it('opens the original when the cache folder cannot be written', async () => {
    const blocked = path.join(cacheDir, 'file-in-the-way');
    writeFileSync(blocked, '');
    const { calls, create } = recordingCreate();
    const session = await withOptimizedGraph('cpu', create, { cacheDir: path.join(blocked, 'graphs') })(path.join(modelDir, 'unet.onnx'), options);
    expect(session.inputNames.length).toBeGreaterThan(0);
    expect(calls.at(-1)?.options.optimizedModelFilePath).toBeUndefined();
  });
});

/** Two /proc/cpuinfo texts of one virtual machine's generic processor, on an AVX2 host and on an AVX-512 one. */
const cpuinfoOf = (extraFlags: string): string =>
  `processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Processor\nflags\t\t: fpu sse sse2 ssse3 sse4_1 sse4_2 avx avx2 fma${extraFlags}\nbogomips\t: 4400.00\n\nprocessor\t: 1\nflags\t\t: fpu\n`;
const avx2Host: ProcessorIdentity = { model: 'Intel(R) Xeon(R) Processor', flags: cpuinfoFlags(cpuinfoOf('')) };
const avx512Host: ProcessorIdentity = { model: 'Intel(R) Xeon(R) Processor', flags: cpuinfoFlags(cpuinfoOf(' avx512f avx512bw avx512vl')) };

describe('the processor a copy is made for', () => {
  it('reads the first processor\'s flags line of /proc/cpuinfo, whatever their order', () => {
    expect(cpuinfoFlags(cpuinfoOf(''))).toBe('avx avx2 fma fpu sse sse2 sse4_1 sse4_2 ssse3');
    expect(cpuinfoFlags('processor\t: 0\nFeatures\t: fp asimd evtstrm\n')).toBe('asimd evtstrm fp');
    expect(cpuinfoFlags('processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Processor\n')).toBeNull();
  });

  it('makes another copy when the same processor name lists other instruction-set flags, and reopens each host\'s own', async () => {
    const unet = path.join(modelDir, 'unet.onnx');
    const { calls, create } = recordingCreate();
    await withOptimizedGraph('cpu', create, { cacheDir, processor: avx2Host })(unet, options);
    const [avx2Copy] = readdirSync(cacheDir);
    await withOptimizedGraph('cpu', create, { cacheDir, processor: avx512Host })(unet, options);
    expect(readdirSync(cacheDir)).toHaveLength(2);
    const avx512Copy = readdirSync(cacheDir).find((name) => name !== avx2Copy);
    await withOptimizedGraph('cpu', create, { cacheDir, processor: avx2Host })(unet, options);
    await withOptimizedGraph('cpu', create, { cacheDir, processor: avx512Host })(unet, options);
    expect(calls.map((call) => [typeof call.graph === 'string' ? path.basename(call.graph) : 'bytes', call.options.graphOptimizationLevel])).toEqual([
      ['unet.onnx', 'all'],
      ['unet.onnx', 'all'],
      [avx2Copy, 'disabled'],
      [avx512Copy, 'disabled'],
    ]);
  });

  it('opens graphs as they are, caching nothing, where only a generic processor name is known', async () => {
    const unet = path.join(modelDir, 'unet.onnx');
    for (const model of ['Intel(R) Xeon(R) Processor', 'QEMU Virtual CPU version 2.5+', 'Common KVM processor']) {
      const { calls, create } = recordingCreate();
      await withOptimizedGraph('cpu', create, { cacheDir, processor: { model, flags: null } })(unet, options);
      expect(calls.map((call) => [call.graph, call.options.optimizedModelFilePath]), model).toEqual([[unet, undefined]]);
    }
    expect(readdirSync(cacheDir)).toEqual([]);
    // A name that names a model is enough where the system lists no flags.
    await withOptimizedGraph('cpu', recordingCreate().create, { cacheDir, processor: { model: 'Apple M2', flags: null } })(unet, options);
    expect(readdirSync(cacheDir)).toHaveLength(1);
  });
});

describe('a run on the built-in model from optimised copies', () => {
  const request: RunRequest = {
    modelId: 'fashion-mnist',
    classIndex: 3,
    mode: 'conditional+classifier',
    scale: 4,
    sampler: 'ddim',
    steps: 'ddim10',
    eta: 0,
    clipDenoised: true,
    seeds: [1000, 1001],
    batchSize: 2,
    provider: 'cpu',
  };

  async function draw(): Promise<RunResult> {
    const engine = createEngine({ modelFolders: [builtInModel], threads: 1 });
    try {
      return await engine.sample(request);
    } finally {
      await engine.close();
    }
  }

  it('draws exactly the images of the run that made the copies', async () => {
    const before = process.env.STUDIO_GRAPH_CACHE;
    process.env.STUDIO_GRAPH_CACHE = cacheDir;
    try {
      const making = await draw();
      expect(readdirSync(cacheDir).sort().map((name) => name.replace(/-[0-9a-f]{32}\.onnx$/, ''))).toEqual(['classifier_grad', 'unet']);
      const fromCopies = await draw();
      expect(fromCopies.samples.map((sample) => Buffer.from(sample.image.buffer))).toEqual(making.samples.map((sample) => Buffer.from(sample.image.buffer)));
    } finally {
      if (before === undefined) delete process.env.STUDIO_GRAPH_CACHE;
      else process.env.STUDIO_GRAPH_CACHE = before;
    }
  }, 120_000);
});

describe('the cache budget', () => {
  it('removes the copies opened longest ago once the cache passes its budget, never the one just written', async () => {
    const unet = path.join(modelDir, 'unet.onnx');
    const classifier = path.join(modelDir, 'classifier_grad.onnx');
    const unlimited = withOptimizedGraph('cpu', recordingCreate().create, { cacheDir });
    await unlimited(unet, options);
    await unlimited(classifier, options);
    const [classifierCopy, unetCopy] = readdirSync(cacheDir).sort();
    const longAgo = new Date(Date.now() - 60_000);
    utimesSync(path.join(cacheDir, unetCopy!), longAgo, longAgo);
    // Opening the classifier from its copy marks it as just used.
    await unlimited(classifier, options);
    appendFileSync(path.join(modelDir, 'manifest.json'), '\n');
    const budget = statSync(path.join(cacheDir, classifierCopy!)).size * 2 + 1;
    await withOptimizedGraph('cpu', recordingCreate().create, { cacheDir, budgetBytes: budget })(classifier, options);
    const left = readdirSync(cacheDir);
    expect(left).toHaveLength(2);
    expect(left).toContain(classifierCopy);
    expect(left).not.toContain(unetCopy);
  });
});
