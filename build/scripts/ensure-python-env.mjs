// Creates .venv with Python 3.11 and installs models/tools (with its test extras) when missing or stale.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const venv = path.join(root, '.venv');
const python = path.join(venv, 'bin', 'python');
const pyproject = path.join(root, 'models', 'tools', 'pyproject.toml');
const stamp = path.join(venv, '.studio-tools-stamp');
const wanted = createHash('sha256').update(readFileSync(pyproject)).digest('hex');

function run(command, args) {
  execFileSync(command, args, { stdio: 'inherit', cwd: root });
}

function findPython311() {
  for (const candidate of ['python3.11', 'python3']) {
    try {
      const version = execFileSync(candidate, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], {
        encoding: 'utf8',
      }).trim();
      if (version === '3.11') return candidate;
    } catch {
      // try the next candidate
    }
  }
  throw new Error('Python 3.11 is required for models/tools. Install it (e.g. `apt-get install python3.11 python3.11-venv`) and run again.');
}

if (!existsSync(python)) {
  run(findPython311(), ['-m', 'venv', venv]);
}
if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== wanted) {
  // torch is pinned to the CPU build; an unpinned torch would pull a multi-GB CUDA build.
  run(python, ['-m', 'pip', 'install', '--quiet', 'torch==2.13.0']);
  run(python, ['-m', 'pip', 'install', '--quiet', '-e', `${path.join(root, 'models', 'tools')}[test]`]);
  writeFileSync(stamp, wanted);
}
