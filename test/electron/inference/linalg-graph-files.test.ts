import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { linalgGraphFile, linalgGraphNames, sourceLinalgGraphsDir } from '../../../electron/inference/linalg-graph-files';

const REPO = path.resolve(import.meta.dirname, '..', '..', '..');
const PYTHON = path.join(REPO, '.venv', 'bin', 'python');

/** The generator's graph files, serialized by onnx in Python: base64 by file name. */
function generatedGraphs(): Record<string, string> {
  const script = [
    'import base64, json',
    'from studio_tools.metrics import linalg_graphs',
    'print(json.dumps({name: base64.b64encode(data).decode() for name, data in linalg_graphs.graph_bytes().items()}))',
  ].join('\n');
  return JSON.parse(execFileSync(PYTHON, ['-c', script], { encoding: 'utf8', timeout: 120_000 })) as Record<string, string>;
}

describe("the metrics' linear-algebra graph files", () => {
  it('are byte for byte what python -m studio_tools.metrics.linalg_graphs writes, one file per graph', () => {
    const generated = generatedGraphs();
    expect(Object.keys(generated).sort()).toEqual(linalgGraphNames.map((name) => path.basename(linalgGraphFile(sourceLinalgGraphsDir(), name))).sort());
    for (const name of linalgGraphNames) {
      const file = linalgGraphFile(sourceLinalgGraphsDir(), name);
      expect(readFileSync(file).toString('base64'), name).toBe(generated[path.basename(file)]);
    }
  }, 120_000);
});
