/**
 * Where the metrics' linear-algebra graphs live: .onnx files written by
 * `python -m studio_tools.metrics.linalg_graphs`, shipped beside the app like the built-in
 * model (packaging copies LINALG_GRAPHS_FOLDER under resources/ with the same relative path).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const linalgGraphNames = ['meanAndScatter', 'matmul', 'squaredDistances'] as const;
export type LinalgGraphName = (typeof linalgGraphNames)[number];

/** The folder, relative to the project root and to the packaged app's resources folder. */
export const LINALG_GRAPHS_FOLDER = 'electron/inference/linalg-graphs';

/**
 * The folder beside this module's source, as it is while developing and testing; a bundled
 * host passes its shipped copy instead.
 */
export function sourceLinalgGraphsDir(): string {
  return path.join(path.dirname(fileURLToPath(import.meta.url)), 'linalg-graphs');
}

export function linalgGraphFile(dir: string, name: LinalgGraphName): string {
  return path.join(dir, `${name}.onnx`);
}
