import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunRequest } from '../../../common/contract/run-request';
import { createEngine, type RunResult } from '../../../electron/inference';
import { buildServeProgram, currentServeBuild, ensureServeProgramBuilt, removeOldBuilds, writeCurrent, type BuiltServeProgram } from '../../../electron/serve/program-build';

const repositoryRoot = fileURLToPath(new URL('../../../', import.meta.url));
const builtInModel = path.join(repositoryRoot, 'models', 'fashion-mnist');
const dayMs = 24 * 60 * 60 * 1000;

let buildsDir: string;
let built: BuiltServeProgram;
let buildLog: string[];

beforeAll(async () => {
  // Inside the repository, as .cache/serve is: the build loads its external packages from node_modules above it.
  mkdirSync(path.join(repositoryRoot, '.cache'), { recursive: true });
  buildsDir = mkdtempSync(path.join(repositoryRoot, '.cache', 'serve-builds-test-'));
  buildLog = [];
  built = await ensureServeProgramBuilt((line) => buildLog.push(line), buildsDir);
}, 120_000);

afterAll(() => rmSync(buildsDir, { recursive: true, force: true }));

function builtText(): string {
  const dir = path.dirname(fileURLToPath(built.programUrl));
  const files = [path.join(dir, 'serve-program.js'), path.join(dir, 'inference-worker.js'), ...readdirSync(path.join(dir, 'chunks')).map((name) => path.join(dir, 'chunks', name))];
  return files.map((file) => readFileSync(file, 'utf8')).join('\n');
}

function recordedInputs(): string[] {
  const record = JSON.parse(readFileSync(path.join(buildsDir, 'current.json'), 'utf8')) as { inputs: { file: string }[] };
  return record.inputs.map((input) => path.relative(repositoryRoot, input.file));
}

describe('the serve program build', () => {
  it('builds the program and its worker once, and a later launch takes that build while its sources are unchanged', async () => {
    expect(buildLog).toEqual(['Building the serve program…']);
    expect(existsSync(fileURLToPath(built.programUrl))).toBe(true);
    expect(existsSync(fileURLToPath(built.workerEntry))).toBe(true);
    const again: string[] = [];
    expect(await ensureServeProgramBuilt((line) => again.push(line), buildsDir)).toEqual(built);
    expect(again).toEqual([]);
  });

  it('records the project files it was built from and the package lock, never a file of node_modules', () => {
    const inputs = recordedInputs();
    expect(inputs).toEqual(expect.arrayContaining(['electron/serve/serve-program.ts', 'electron/service/open-studio.ts', 'electron/inference/sessions.ts', 'common/contract/studio-api.ts', 'package-lock.json']));
    expect(inputs.filter((file) => file.includes('node_modules') || file.startsWith('..'))).toEqual([]);
  });

  it('gives every module the address of its source file, so graphs, package.json and the renderer are found beside the sources', () => {
    const text = builtText();
    for (const source of ['electron/inference/linalg-graph-files.ts', 'electron/inference/step-graph-files.ts', 'electron/serve/renderer-bundle.ts', 'electron/service/app-version.ts']) {
      expect(text).toContain(JSON.stringify(pathToFileURL(path.join(repositoryRoot, source)).href));
    }
    // The one import.meta.url left is the bundle's own require for CommonJS packages.
    expect(text.match(/import\.meta\.url/g)).toEqual(['import.meta.url']);
  });

  it('leaves the Redis clients to be loaded only by a distributed evaluation', () => {
    const program = readFileSync(fileURLToPath(built.programUrl), 'utf8');
    expect(program).not.toMatch(/from "(bullmq|ioredis)"/);
    expect(builtText()).toMatch(/from "bullmq"/);
  });
});

describe('the built inference worker', () => {
  const request: RunRequest = {
    modelId: 'fashion-mnist',
    classIndex: 7,
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

  async function draw(workerEntry: URL | undefined): Promise<RunResult> {
    const engine = createEngine({ modelFolders: [builtInModel], threads: 1, ...(workerEntry ? { workerEntry } : {}) });
    try {
      return await engine.sample(request, { trajectory: true });
    } finally {
      await engine.close();
    }
  }

  it('draws exactly the images and trajectories of the TypeScript worker for the same seeds', async () => {
    const [fromBuild, fromSource] = [await draw(built.workerEntry), await draw(undefined)];
    expect(fromBuild.samples.map((sample) => sample.seed)).toEqual([1000, 1001]);
    fromBuild.samples.forEach((sample, index) => {
      const reference = fromSource.samples[index]!;
      expect(Buffer.from(sample.pixels).equals(Buffer.from(reference.pixels))).toBe(true);
      expect(Buffer.from(sample.image.buffer).equals(Buffer.from(reference.image.buffer))).toBe(true);
      expect(sample.trajectory?.predX0).toEqual(reference.trajectory?.predX0);
    });
  }, 120_000);
});

describe('when a launch builds again', () => {
  function recordFor(file: string): void {
    const stats = statSync(file);
    writeCurrent(buildsDir, { dir: path.dirname(fileURLToPath(built.programUrl)), inputs: [{ file, size: stats.size, mtimeMs: stats.mtimeMs }] });
  }

  it('builds again when a source changed, went missing, or the record cannot be read', () => {
    const scratch = mkdtempSync(path.join(tmpdir(), 'gds-serve-source-'));
    try {
      const source = path.join(scratch, 'module.ts');
      writeFileSync(source, 'export const answer = 42;\n');
      recordFor(source);
      expect(currentServeBuild(buildsDir)).toEqual(built);

      appendFileSync(source, 'export const other = 1;\n');
      expect(currentServeBuild(buildsDir)).toBeNull();

      recordFor(source);
      const later = new Date(statSync(source).mtimeMs + 5000);
      utimesSync(source, later, later);
      expect(currentServeBuild(buildsDir)).toBeNull();

      recordFor(source);
      rmSync(source);
      expect(currentServeBuild(buildsDir)).toBeNull();

      writeFileSync(path.join(buildsDir, 'current.json'), '{"dir": 3');
      expect(currentServeBuild(buildsDir)).toBeNull();
      writeFileSync(path.join(buildsDir, 'current.json'), JSON.stringify({ dir: scratch, inputs: [] }));
      expect(currentServeBuild(buildsDir)).toBeNull();
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  it('removes builds made more than a day ago, but never the current one', () => {
    const folder = mkdtempSync(path.join(tmpdir(), 'gds-serve-old-builds-'));
    try {
      const now = Date.now();
      const made = (name: string, ageMs: number): string => {
        const dir = path.join(folder, name);
        mkdirSync(dir);
        const at = new Date(now - ageMs);
        utimesSync(dir, at, at);
        return dir;
      };
      const current = made('build-current', 3 * dayMs);
      made('build-old', 2 * dayMs);
      made('build-recent', 60_000);
      writeFileSync(path.join(folder, 'current.json'), '{}');
      removeOldBuilds(folder, current, now);
      expect(readdirSync(folder).sort()).toEqual(['build-current', 'build-recent', 'current.json']);

      // Of many builds, the newest eight stay for a day and the others only for an hour.
      const hours = Array.from({ length: 10 }, (_, index) => made(`build-hours-${index}`, (2 + index) * 60 * 60 * 1000));
      removeOldBuilds(folder, current, now);
      expect(readdirSync(folder).sort()).toEqual(['build-current', ...hours.slice(0, 7).map((dir) => path.basename(dir)), 'build-recent', 'current.json'].sort());
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it('a new build replaces the record, so the launch after it takes the new one', async () => {
    const rebuilt = await buildServeProgram(buildsDir);
    expect(rebuilt.programUrl.href).not.toBe(built.programUrl.href);
    expect(currentServeBuild(buildsDir)).toEqual(rebuilt);
    // The build before it is less than a day old and stays for a serve that may still run it.
    expect(existsSync(fileURLToPath(built.programUrl))).toBe(true);
  }, 120_000);
});

describe('a launch whose build fails', () => {
  it('says so and runs the program from its sources', () => {
    const scratch = mkdtempSync(path.join(tmpdir(), 'gds-serve-unbuildable-'));
    try {
      // A file where the builds folder should be: nothing can be built there.
      const blocked = path.join(scratch, 'not-a-folder');
      writeFileSync(blocked, '');
      const run = spawnSync(process.execPath, ['--import', 'tsx', path.join(repositoryRoot, 'electron/serve/main.ts'), '--help'], {
        cwd: repositoryRoot,
        encoding: 'utf8',
        timeout: 120_000,
        env: { ...process.env, STUDIO_SERVE_BUILDS: path.join(blocked, 'serve') },
      });
      expect(run.stderr).toContain('Building the serve program…');
      expect(run.stderr).toMatch(/The serve program could not be built \(.*ENOTDIR.*\); it runs from its sources instead\./);
      expect(run.stdout).toContain('Usage: serve');
      expect(run.status).toBe(0);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  }, 120_000);
});
