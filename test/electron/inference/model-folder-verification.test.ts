/**
 * What opening a model folder reads: only the files of the parts opened, and none that this machine
 * already hashed and that have not changed since; a file changed after its hashing is still refused.
 */
import { cpSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadModel, releaseModel } from '../../../electron/inference/loaded-model';
import { openModelFolder, type ModelPart } from '../../../electron/inference/model-folder';
import { VerifiedFileRecord } from '../../../electron/inference/verified-files';

const evaluatedModel = path.join(import.meta.dirname, '..', '..', 'fixtures', 'evaluation-models', 'evaluated-8px');
const builtInModel = path.join(import.meta.dirname, '..', '..', '..', 'models', 'fashion-mnist');
const samplingParts: ModelPart[] = ['unet', 'classifier'];

let scratch: string;
let modelDir: string;
let recordFile: string;
beforeEach(() => {
  scratch = mkdtempSync(path.join(tmpdir(), 'gds-verification-'));
  modelDir = path.join(scratch, 'evaluated-8px');
  cpSync(evaluatedModel, modelDir, { recursive: true });
  recordFile = path.join(scratch, 'cache', 'verified-model-files.json');
});
afterEach(() => rmSync(scratch, { recursive: true, force: true }));

/** A record that notes each open as a minute after the folder was copied, when a write has long settled. */
const aMinuteLater = (): VerifiedFileRecord => new VerifiedFileRecord(recordFile, () => Date.now() + 60_000);

/** `name` with its first byte flipped, in place: same size, same inode. */
function flipFirstByte(name: string): void {
  const bytes = readFileSync(path.join(modelDir, name));
  bytes[0] = (bytes[0] as number) ^ 0xff;
  writeFileSync(path.join(modelDir, name), bytes);
}

describe('the parts of a model that are opened', () => {
  it('hashes only the UNet and classifier for sampling, and refuses to name a file of a part not opened', async () => {
    const folder = await openModelFolder(modelDir, { parts: samplingParts, record: aMinuteLater() });
    expect(folder.hashed).toEqual(['unet.onnx', 'classifier_grad.onnx']);
    expect(folder.file('unet.onnx')).toBe(path.join(modelDir, 'unet.onnx'));
    expect(() => folder.file('evaluator.onnx')).toThrow(/evaluator\.onnx of the model folder .* was not verified: open the folder with the part that uses it\./);
  });

  it('samples from a folder whose evaluator is damaged, and refuses the evaluator when it is opened', async () => {
    flipFirstByte('reference_features.npy');
    const folder = await openModelFolder(modelDir, { parts: samplingParts, record: aMinuteLater() });
    expect(folder.hashed).toEqual(['unet.onnx', 'classifier_grad.onnx']);
    await expect(openModelFolder(modelDir, { parts: ['evaluator'], record: aMinuteLater() })).rejects.toThrow(
      /^The file reference_features\.npy in .* is damaged or was changed: its sha256 is [0-9a-f]{64} but the manifest expects [0-9a-f]{64}\. Copy the model again\.$/,
    );
  });

  it('verifies every part when none are named', async () => {
    const folder = await openModelFolder(modelDir, { record: aMinuteLater() });
    expect(folder.hashed).toEqual(['unet.onnx', 'classifier_grad.onnx', 'evaluator.onnx', 'reference_mu.npy', 'reference_sigma.npy', 'reference_features.npy']);
  });

  it('on the CPU leaves the float16 UNet and the evaluator unverified, and verifies the float16 UNet when it is asked for', async () => {
    const onCpu = await loadModel(builtInModel, 'cpu', 1);
    try {
      expect(onCpu.folder.file('unet.onnx')).toBe(path.join(builtInModel, 'unet.onnx'));
      expect(() => onCpu.folder.file('unet_fp16.onnx')).toThrow(/was not verified/);
      expect(() => onCpu.folder.file('evaluator.onnx')).toThrow(/was not verified/);
    } finally {
      await releaseModel(onCpu);
    }
    // The fp16 flag is asked for on the CPU too, so its graph is verified before it is opened.
    const fp16 = await loadModel(builtInModel, 'cpu', 1, 'fp16');
    try {
      expect(fp16.unetPrecision).toBe('fp16');
      expect(fp16.folder.file('unet_fp16.onnx')).toBe(path.join(builtInModel, 'unet_fp16.onnx'));
    } finally {
      await releaseModel(fp16);
    }
  });
});

describe('files already verified on this machine', () => {
  it('are not read again while unchanged', async () => {
    expect((await openModelFolder(modelDir, { parts: samplingParts, record: aMinuteLater() })).hashed).toEqual(['unet.onnx', 'classifier_grad.onnx']);
    expect((await openModelFolder(modelDir, { parts: samplingParts, record: aMinuteLater() })).hashed).toEqual([]);
    expect((await openModelFolder(modelDir, { record: aMinuteLater() })).hashed).toEqual(['evaluator.onnx', 'reference_mu.npy', 'reference_sigma.npy', 'reference_features.npy']);
    expect((await openModelFolder(modelDir, { record: aMinuteLater() })).hashed).toEqual([]);
  });

  it('are refused once changed in place, with the same size, after their verification', async () => {
    await openModelFolder(modelDir, { parts: samplingParts, record: aMinuteLater() });
    // Past the filesystem clock's step, as any later write is.
    await sleep(50);
    flipFirstByte('unet.onnx');
    await expect(openModelFolder(modelDir, { parts: samplingParts, record: aMinuteLater() })).rejects.toThrow(
      /^The file unet\.onnx in .* is damaged or was changed: its sha256 is [0-9a-f]{64} but the manifest expects [0-9a-f]{64}\. Copy the model again\.$/,
    );
  });

  it('are hashed again when another file is renamed over them, and accepted when it is sound', async () => {
    await openModelFolder(modelDir, { parts: samplingParts, record: aMinuteLater() });
    const replacement = path.join(scratch, 'unet.onnx');
    cpSync(path.join(modelDir, 'unet.onnx'), replacement);
    renameSync(replacement, path.join(modelDir, 'unet.onnx'));
    expect((await openModelFolder(modelDir, { parts: samplingParts, record: aMinuteLater() })).hashed).toEqual(['unet.onnx']);
  });

  it('are hashed again when the manifest expects another sha256 of them', async () => {
    await openModelFolder(modelDir, { parts: samplingParts, record: aMinuteLater() });
    const manifestPath = path.join(modelDir, 'manifest.json');
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { files: Record<string, string> };
    manifest.files['classifier_grad.onnx'] = 'a'.repeat(64);
    writeFileSync(manifestPath, JSON.stringify(manifest));
    await expect(openModelFolder(modelDir, { parts: samplingParts, record: aMinuteLater() })).rejects.toThrow(
      /^The file classifier_grad\.onnx in .* is damaged or was changed: its sha256 is [0-9a-f]{64} but the manifest expects a{64}\./,
    );
  });

  it('are not remembered when written moments before their hashing, where a coarse clock could hide a second write', async () => {
    const rightAway = new VerifiedFileRecord(recordFile);
    expect((await openModelFolder(modelDir, { parts: samplingParts, record: rightAway })).hashed).toEqual(['unet.onnx', 'classifier_grad.onnx']);
    expect((await openModelFolder(modelDir, { parts: samplingParts, record: new VerifiedFileRecord(recordFile) })).hashed).toEqual(['unet.onnx', 'classifier_grad.onnx']);
  });

  it('are hashed again when the record is damaged, and the record is written anew', async () => {
    await openModelFolder(modelDir, { parts: samplingParts, record: aMinuteLater() });
    writeFileSync(recordFile, '{"format": 1, "files": ');
    expect((await openModelFolder(modelDir, { parts: samplingParts, record: aMinuteLater() })).hashed).toEqual(['unet.onnx', 'classifier_grad.onnx']);
    expect((await openModelFolder(modelDir, { parts: samplingParts, record: aMinuteLater() })).hashed).toEqual([]);
  });
});
