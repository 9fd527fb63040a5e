/**
 * Opening a model folder (docs/model-format.md): the manifest is validated, every file it
 * names must lie directly in the folder as a regular file (no links, no sub-folders, no
 * external-data path that leaves it) and match its sha256.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readFile, realpath } from 'node:fs/promises';
import path from 'node:path';
import { ModelManifest } from '../../common/models/manifest';
import { externalDataLocationProblem, externalDataReferences, type ExternalDataReference } from './onnx-external-data';
import { decodeOnnxModel, OnnxDecodeError } from './onnx-model-proto';
import { describeProblems } from '../../common/contract/bounds';

export interface ModelFolder {
  /** Absolute, resolved folder path. */
  dir: string;
  manifest: ModelManifest;
  /** Absolute path of a file named by the manifest. */
  file(name: string): string;
}

export class ModelFolderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelFolderError';
  }
}

async function sha256Of(filePath: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(filePath)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Every file the manifest refers to; all of them must be listed under `files`. */
function referencedFiles(manifest: ModelManifest): string[] {
  const names = [manifest.unet.file];
  if (manifest.unet.fp16_file !== null) names.push(manifest.unet.fp16_file);
  if (manifest.classifier !== null) names.push(manifest.classifier.file);
  if (manifest.evaluator !== null) {
    const { reference } = manifest.evaluator;
    names.push(manifest.evaluator.file, reference.mu, reference.sigma, reference.features);
  }
  return names;
}

export async function readManifest(dir: string): Promise<ModelManifest> {
  const manifestPath = path.join(dir, 'manifest.json');
  let text: string;
  try {
    text = await readFile(manifestPath, 'utf8');
  } catch {
    throw new ModelFolderError(`No model found in ${dir}: manifest.json is missing. Point to a folder written by the model tools (docs/model-format.md).`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ModelFolderError(`The manifest ${manifestPath} is not valid JSON (${(error as Error).message}). Re-export the model.`);
  }
  const parsed = ModelManifest.safeParse(json);
  if (!parsed.success) {
    const problems = describeProblems(parsed.error);
    throw new ModelFolderError(`The manifest ${manifestPath} does not follow the model format: ${problems}. Re-export the model.`);
  }
  const manifest = parsed.data;
  if (manifest.classes.names.length !== manifest.classes.count) {
    throw new ModelFolderError(`The manifest ${manifestPath} names ${manifest.classes.names.length} classes but declares ${manifest.classes.count}. Re-export the model.`);
  }
  return manifest;
}

/** Checks that `name` is a regular file directly inside `dir` with the expected sha256. */
async function checkFile(dir: string, name: string, expectedSha256: string | undefined): Promise<void> {
  if (expectedSha256 === undefined) {
    throw new ModelFolderError(`The manifest in ${dir} uses ${name} but gives no sha256 for it under "files". Re-export the model.`);
  }
  const filePath = path.join(dir, name);
  const stats = await lstat(filePath).catch(() => null);
  if (stats === null) throw new ModelFolderError(`The model folder ${dir} lacks ${name}, which its manifest names. Copy the whole folder again.`);
  if (stats.isSymbolicLink()) throw new ModelFolderError(`Refusing the model folder ${dir}: ${name} is a symbolic link. Model files must be plain files inside the folder.`);
  if (!stats.isFile()) throw new ModelFolderError(`Refusing the model folder ${dir}: ${name} is not a regular file.`);
  if (path.dirname(await realpath(filePath)) !== dir) {
    throw new ModelFolderError(`Refusing the model folder ${dir}: ${name} resolves outside the folder.`);
  }
  const actual = await sha256Of(filePath);
  if (actual !== expectedSha256) {
    throw new ModelFolderError(`The file ${name} in ${dir} is damaged or was changed: its sha256 is ${actual} but the manifest expects ${expectedSha256}. Copy the model again.`);
  }
}

/** The external weight files `graph` names; an empty or damaged graph is refused here, before onnxruntime sees it. */
async function externalDataOf(dir: string, graph: string): Promise<ExternalDataReference[]> {
  try {
    return externalDataReferences(decodeOnnxModel(await readFile(path.join(dir, graph))));
  } catch (error) {
    if (!(error instanceof OnnxDecodeError)) throw error;
    const state = error.empty ? 'is empty (not an ONNX model)' : `is damaged (not an ONNX model: ${error.reason})`;
    throw new ModelFolderError(`Refusing the model folder ${dir}: ${graph} ${state}: re-export or re-convert the model.`);
  }
}

/** Opens and verifies a model folder; throws ModelFolderError with a sentence a user can act on. */
export async function openModelFolder(folder: string): Promise<ModelFolder> {
  const dir = await realpath(path.resolve(folder)).catch(() => {
    throw new ModelFolderError(`The model folder ${folder} does not exist.`);
  });
  const manifest = await readManifest(dir);
  for (const name of referencedFiles(manifest)) await checkFile(dir, name, manifest.files[name]);
  const graphs = [manifest.unet.file, manifest.unet.fp16_file, manifest.classifier?.file, manifest.evaluator?.file];
  for (const graph of graphs) {
    if (graph === null || graph === undefined) continue;
    for (const { location, tensor } of await externalDataOf(dir, graph)) {
      const problem = externalDataLocationProblem(location);
      if (problem !== null) {
        throw new ModelFolderError(`Refusing the model folder ${dir}: ${graph} reads tensor ${JSON.stringify(tensor.slice(0, 200))} from ${JSON.stringify(location.slice(0, 200))}, ${problem}.`);
      }
      await checkFile(dir, location, manifest.files[location]);
    }
  }
  return { dir, manifest, file: (name) => path.join(dir, name) };
}
