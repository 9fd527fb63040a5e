import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadModel, releaseModel } from '../../../electron/inference/loaded-model';
import { openModelFolder } from '../../../electron/inference/model-folder';
import { LINEAR_MODEL } from './test-models';

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

let generated: string;
beforeAll(() => {
  generated = mkdtempSync(path.join(tmpdir(), 'gds-external-models-'));
  execFileSync(path.resolve('.venv/bin/python'), [path.resolve('test/fixtures/external-data/make_external_data_models.py'), LINEAR_MODEL, generated]);
});
afterAll(() => rmSync(generated, { recursive: true, force: true }));

const copies: string[] = [];
afterEach(async () => {
  for (const root of copies.splice(0)) await rm(root, { recursive: true, force: true });
});

/** A writable copy of one generated folder, with helpers to change its files and keep the manifest's hashes in step. */
async function folderCopy(name: string) {
  const root = await mkdtemp(path.join(tmpdir(), 'gds-model-copy-'));
  copies.push(root);
  const dir = path.join(root, name);
  await cp(path.join(generated, name), dir, { recursive: true });
  const manifestPath = path.join(dir, 'manifest.json');
  const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as { files: Record<string, string> };
  return {
    dir,
    read: (file: string) => readFile(path.join(dir, file)),
    /** Replaces a file's bytes; with `rehash`, the manifest is updated as if the model had been exported that way. */
    async write(file: string, bytes: Uint8Array, rehash: boolean) {
      await writeFile(path.join(dir, file), bytes);
      if (rehash) manifest.files[file] = sha256(bytes);
      await writeFile(manifestPath, JSON.stringify(manifest));
    },
    async unlist(file: string) {
      delete manifest.files[file];
      await writeFile(manifestPath, JSON.stringify(manifest));
    },
  };
}

/** The same external-data entry with its value written before its key: same length, so every enclosing length still holds. */
function withValueBeforeKey(onnx: Buffer, location: string): Buffer {
  const keyField = Buffer.concat([Buffer.of(0x0a, 8), Buffer.from('location')]);
  const valueField = Buffer.concat([Buffer.of(0x12, location.length), Buffer.from(location)]);
  const keyFirst = Buffer.concat([keyField, valueField]);
  const valueFirst = Buffer.concat([valueField, keyField]);
  const swapped = Buffer.from(onnx);
  let found = 0;
  for (let at = swapped.indexOf(keyFirst); at >= 0; at = swapped.indexOf(keyFirst, at + 1)) {
    valueFirst.copy(swapped, at);
    found++;
  }
  expect(found).toBeGreaterThan(0);
  return swapped;
}

async function tamper(folder: Awaited<ReturnType<typeof folderCopy>>, file: string): Promise<void> {
  const bytes = Uint8Array.from(await folder.read(file));
  bytes[0] = (bytes[0] as number) ^ 0xff;
  await folder.write(file, bytes, false);
}

describe('model folders whose weights live in external data files', () => {
  it('opens one whose UNet reads every initializer from unet.weights, and onnxruntime runs it', async () => {
    const folder = await folderCopy('external');
    const model = await loadModel(folder.dir, 'cpu', 1);
    expect(model.unet.session.inputNames).toEqual(['x', 't', 'y']);
    await releaseModel(model);
  });

  it('refuses it once unet.weights was changed', async () => {
    const folder = await folderCopy('external');
    await tamper(folder, 'unet.weights');
    await expect(openModelFolder(folder.dir)).rejects.toThrow(/The file unet\.weights in .* is damaged or was changed: its sha256 is [0-9a-f]{64} but the manifest expects/);
  });

  it('checks the weight file of an entry written value first, which onnxruntime reads all the same', async () => {
    const folder = await folderCopy('external');
    await folder.write('unet.onnx', withValueBeforeKey(await folder.read('unet.onnx'), 'unet.weights'), true);
    const model = await loadModel(folder.dir, 'cpu', 1);
    await releaseModel(model);
    await tamper(folder, 'unet.weights');
    await expect(openModelFolder(folder.dir)).rejects.toThrow(/The file unet\.weights in .* is damaged or was changed/);
  });

  it('checks the weight file of initializers inside an If node\'s branches', async () => {
    const folder = await folderCopy('subgraph');
    const model = await loadModel(folder.dir, 'cpu', 1);
    await releaseModel(model);
    await tamper(folder, 'branch.weights');
    await expect(openModelFolder(folder.dir)).rejects.toThrow(/The file branch\.weights in .* is damaged or was changed/);
  });

  it('refuses a weight file the manifest does not list', async () => {
    const folder = await folderCopy('external');
    await folder.unlist('unet.weights');
    await expect(openModelFolder(folder.dir)).rejects.toThrow(/uses unet\.weights but gives no sha256 for it under "files"\. Re-export the model\./);
  });

  it('refuses weights outside the folder, by "..", or by an absolute path', async () => {
    const climbing = await folderCopy('climbing');
    await expect(openModelFolder(climbing.dir)).rejects.toThrow(
      /Refusing the model folder .*: unet\.onnx reads tensor "a" from "\.\.\/unet\.weights", a path that climbs out with "\.\."; a model must not read files outside its folder\./,
    );
    const absolute = await folderCopy('absolute');
    await expect(openModelFolder(absolute.dir)).rejects.toThrow(/unet\.onnx reads tensor "a" from "\/.*\/external\/unet\.weights", an absolute path; a model must not read files outside its folder\./);
  });
});

describe('graph files that are not ONNX models', () => {
  it('says an empty unet.onnx is empty, even when the manifest was made from it', async () => {
    const folder = await folderCopy('external');
    await folder.write('unet.onnx', new Uint8Array(0), true);
    await expect(loadModel(folder.dir, 'cpu', 1)).rejects.toThrow(/^Refusing the model folder .*: unet\.onnx is empty \(not an ONNX model\): re-export or re-convert the model\.$/);
  });

  it('says a truncated unet.onnx is damaged before onnxruntime sees it', async () => {
    const folder = await folderCopy('external');
    const onnx = await folder.read('unet.onnx');
    await folder.write('unet.onnx', onnx.subarray(0, onnx.length - 10), true);
    await expect(loadModel(folder.dir, 'cpu', 1)).rejects.toThrow(
      /^Refusing the model folder .*: unet\.onnx is damaged \(not an ONNX model: it is cut short, a field runs past the end of the file\): re-export or re-convert the model\.$/,
    );
  });

  it('says the same of a damaged classifier graph', async () => {
    const folder = await folderCopy('external');
    const classifier = await folder.read('classifier_grad.onnx');
    await folder.write('classifier_grad.onnx', classifier.subarray(0, 100), true);
    await expect(openModelFolder(folder.dir)).rejects.toThrow(/classifier_grad\.onnx is damaged \(not an ONNX model: it is cut short/);
  });
});
