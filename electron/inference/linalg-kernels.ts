/**
 * The metrics' dense products on onnxruntime's CPU GEMM: small fixed graphs (the .onnx files
 * of linalg-graph-files.ts), one session each, opened on first use. Float64 throughout except
 * the feature inputs, which stay float32 as the evaluator writes them.
 */
import { readFile } from 'node:fs/promises';
import type { DenseMatrix, FeatureMatrix } from '../metrics/dense-matrix';
import type { MatrixKernels } from '../metrics/matrix-kernels';
import { linalgGraphFile, sourceLinalgGraphsDir, type LinalgGraphName } from './linalg-graph-files';
import { openCpuGraph, ort } from './sessions';

export interface LinalgKernelOptions {
  /** Threads for each product; onnxruntime's default (all cores) when omitted or 0. */
  threads?: number;
  /** The folder of the graph files; the one beside the source when omitted. */
  graphsDir?: string;
}

function outputOf(results: ort.InferenceSession.ReturnType, name: string): ort.Tensor {
  const tensor = results[name];
  if (!tensor) throw new Error(`The ${name} output is missing from a linear-algebra graph.`);
  return tensor;
}

function float64Data(tensor: ort.Tensor): Float64Array {
  if (!(tensor.data instanceof Float64Array)) throw new Error(`Expected a float64 tensor, got ${tensor.type}.`);
  return tensor.data;
}

async function readGraph(dir: string, name: LinalgGraphName): Promise<Uint8Array> {
  const file = linalgGraphFile(dir, name);
  try {
    return await readFile(file);
  } catch (error) {
    throw new Error(`The studio's ${name} graph is missing (${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}). Reinstall the studio, or run python -m studio_tools.metrics.linalg_graphs in a checkout.`, { cause: error });
  }
}

export class OnnxMatrixKernels implements MatrixKernels {
  private readonly sessions = new Map<LinalgGraphName, Promise<ort.InferenceSession>>();

  constructor(private readonly options: LinalgKernelOptions = {}) {}

  private session(name: LinalgGraphName): Promise<ort.InferenceSession> {
    let session = this.sessions.get(name);
    if (!session) {
      const dir = this.options.graphsDir ?? sourceLinalgGraphsDir();
      session = readGraph(dir, name).then((bytes) => openCpuGraph(bytes, name, this.options.threads ?? 0));
      // A failed open is not cached: the next use reports it again instead of a stale rejection.
      session.catch(() => this.sessions.delete(name));
      this.sessions.set(name, session);
    }
    return session;
  }

  async meanAndScatter(features: FeatureMatrix): Promise<{ mean: Float64Array; scatter: DenseMatrix }> {
    const session = await this.session('meanAndScatter');
    const results = await session.run({ features: new ort.Tensor('float32', features.data, [features.count, features.dimension]) });
    const d = features.dimension;
    return { mean: float64Data(outputOf(results, 'mean')), scatter: { rows: d, cols: d, data: float64Data(outputOf(results, 'scatter')) } };
  }

  async multiply(a: DenseMatrix, b: DenseMatrix): Promise<DenseMatrix> {
    if (a.cols !== b.rows) throw new Error(`Cannot multiply a ${a.rows}×${a.cols} matrix by a ${b.rows}×${b.cols} matrix.`);
    const session = await this.session('matmul');
    const results = await session.run({
      a: new ort.Tensor('float64', a.data, [a.rows, a.cols]),
      b: new ort.Tensor('float64', b.data, [b.rows, b.cols]),
    });
    return { rows: a.rows, cols: b.cols, data: float64Data(outputOf(results, 'product')) };
  }

  async squaredDistances(rows: FeatureMatrix, cols: FeatureMatrix): Promise<DenseMatrix> {
    if (rows.dimension !== cols.dimension) throw new Error(`Cannot compare ${rows.dimension}- and ${cols.dimension}-dimensional features.`);
    const session = await this.session('squaredDistances');
    const results = await session.run({
      rows: new ort.Tensor('float32', rows.data, [rows.count, rows.dimension]),
      cols: new ort.Tensor('float32', cols.data, [cols.count, cols.dimension]),
    });
    return { rows: rows.count, cols: cols.count, data: float64Data(outputOf(results, 'distances')) };
  }

  async release(): Promise<void> {
    const sessions = [...this.sessions.values()];
    this.sessions.clear();
    for (const session of sessions) await (await session.catch(() => null))?.release();
  }
}
