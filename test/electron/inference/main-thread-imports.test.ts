import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const REPO = path.resolve(import.meta.dirname, '..', '..', '..');
const SESSIONS = path.join(REPO, 'electron', 'inference', 'sessions.ts');

/**
 * Modules a file loads when it runs: every import and re-export except `import type` and
 * `export type` (erased). An import whose names are all marked `type` still loads its module
 * under verbatimModuleSyntax, so it counts.
 */
function loadedSpecifiers(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, false, ts.ScriptKind.TS);
  const specifiers: string[] = [];
  for (const statement of source.statements) {
    if (ts.isImportDeclaration(statement) && !statement.importClause?.isTypeOnly && ts.isStringLiteral(statement.moduleSpecifier)) {
      specifiers.push(statement.moduleSpecifier.text);
    } else if (ts.isExportDeclaration(statement) && !statement.isTypeOnly && statement.moduleSpecifier && ts.isStringLiteral(statement.moduleSpecifier)) {
      specifiers.push(statement.moduleSpecifier.text);
    }
  }
  return specifiers;
}

function resolveRelative(from: string, specifier: string): string {
  const base = path.resolve(path.dirname(from), specifier);
  for (const candidate of [base, `${base}.ts`, path.join(base, 'index.ts')]) {
    if (candidate.endsWith('.ts') && existsSync(candidate)) return candidate;
  }
  throw new Error(`${path.relative(REPO, from)} imports ${specifier}, which resolves to no .ts file.`);
}

/** Every project module and package `entry` loads, with the chain that first reached each. */
function moduleGraph(entry: string): Map<string, string[]> {
  const reached = new Map<string, string[]>([[entry, [path.relative(REPO, entry)]]]);
  const pending = [entry];
  while (pending.length > 0) {
    const file = pending.pop()!;
    for (const specifier of loadedSpecifiers(file)) {
      const chain = reached.get(file)!;
      if (!specifier.startsWith('.')) {
        if (!reached.has(specifier)) reached.set(specifier, [...chain, specifier]);
        continue;
      }
      const target = resolveRelative(file, specifier);
      if (reached.has(target)) continue;
      reached.set(target, [...chain, path.relative(REPO, target)]);
      pending.push(target);
    }
  }
  return reached;
}

function onnxruntimeChains(entry: string): string[] {
  const graph = moduleGraph(path.join(REPO, entry));
  return [graph.get(SESSIONS), graph.get('onnxruntime-node')].filter((chain) => chain !== undefined).map((chain) => chain.join(' → '));
}

describe('onnxruntime stays in the inference worker', () => {
  it.each(['electron/main/main.ts', 'electron/serve/main.ts', 'electron/serve/serve-program.ts', 'electron/cli/main.ts', 'electron/service/open-studio.ts', 'electron/inference/index.ts'])(
    '%s never loads sessions.ts or onnxruntime-node on its own thread',
    (entry) => {
      expect(onnxruntimeChains(entry)).toEqual([]);
    },
  );

  it('the worker entry reaches onnxruntime only through sessions.ts', () => {
    const graph = moduleGraph(path.join(REPO, 'electron/inference/inference-worker.ts'));
    expect(graph.has(SESSIONS)).toBe(true);
    const importers = [...graph.keys()].filter((file) => file.endsWith('.ts') && loadedSpecifiers(file).includes('onnxruntime-node'));
    expect(importers.map((file) => path.relative(REPO, file))).toEqual(['electron/inference/sessions.ts']);
  });
});
