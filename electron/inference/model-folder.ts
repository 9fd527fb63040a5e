/**
 * Opening a model folder (docs/model-format.md): the manifest is validated, and every file of the
 * parts a caller opens must lie directly in the folder as a regular file (no links, no sub-folders,
 * no external-data path that leaves it) and match its sha256. A file this machine already hashed and
 * has not changed since (verified-files.ts) is not read again.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readFile, realpath } from 'node:fs/promises';
import path from 'node:path';
import { ModelManifest } from '../../common/models/manifest';
import { externalDataLocationProblem, externalDataReferences, type ExternalDataReference } from './onnx-external-data';
import { decodeOnnxModel, OnnxDecodeError } from './onnx-model-proto';
import { describeProblems } from '../../common/contract/bounds';
import { VerifiedFileRecord } from './verified-files';

/** What a caller opens of a model; only these parts' files are verified. `evaluator` includes its reference statistics. */
export type ModelPart = 'unet' | 'unet-fp16' | 'classifier' | 'evaluator';
export const ALL_MODEL_PARTS: readonly ModelPart[] = ['unet', 'unet-fp16', 'classifier', 'evaluator'];

export interface OpenModelFolderOptions {
  /** The parts whose files are verified: all unless given. */
  parts?: readonly ModelPart[];
  /** Where the files found sound are remembered: the user's cache unless given. */
  record?: VerifiedFileRecord;
}

export interface ModelFolder {
  /** Absolute, resolved folder path. */
  dir: string;
  manifest: ModelManifest;
  /** Absolute path of a verified file; asking for one of a part not opened is a programmer error. */
  file(name: string): string;
  /** The files this open read in full to hash them, in order; the others were known unchanged. */
  hashed: readonly string[];
}

export class ModelFolderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelFolderError';
  }
}

/** The files of `parts` the manifest names, graphs first; each must be listed under `files`. */
function partFiles(manifest: ModelManifest, parts: readonly ModelPart[]): { graphs: string[]; data: string[] } {
  const graphs: string[] = [];
  const data: string[] = [];
  if (parts.includes('unet')) graphs.push(manifest.unet.file);
  if (parts.includes('unet-fp16') && manifest.unet.fp16_file !== null) graphs.push(manifest.unet.fp16_file);
  if (parts.includes('classifier') && manifest.classifier !== null) graphs.push(manifest.classifier.file);
  if (parts.includes('evaluator') && manifest.evaluator !== null) {
    const { reference } = manifest.evaluator;
    graphs.push(manifest.evaluator.file);
    data.push(reference.mu, reference.sigma, reference.features);
    if (reference.spatial_mu !== undefined) data.push(reference.spatial_mu);
    if (reference.spatial_sigma !== undefined) data.push(reference.spatial_sigma);
  }
  return { graphs, data };
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

async function sha256Of(filePath: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(filePath)) hash.update(chunk as Buffer);
  return hash.digest('hex');
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

/** Verifies the files of one folder, each once, reading only those the record does not vouch for. */
class FolderVerifier {
  readonly verified = new Set<string>();
  readonly hashed: string[] = [];

  constructor(
    private readonly dir: string,
    private readonly manifest: ModelManifest,
    private readonly record: VerifiedFileRecord,
  ) {}

  /** Checks that `name` is a regular file directly inside the folder with the manifest's sha256. */
  async file(name: string, externalDataFor: 'graph' | 'data'): Promise<void> {
    if (this.verified.has(name)) return;
    const { dir } = this;
    const expectedSha256 = this.manifest.files[name];
    if (expectedSha256 === undefined) {
      throw new ModelFolderError(`The manifest in ${dir} uses ${name} but gives no sha256 for it under "files". Re-export the model.`);
    }
    const filePath = path.join(dir, name);
    const stats = await lstat(filePath, { bigint: true }).catch(() => null);
    if (stats === null) throw new ModelFolderError(`The model folder ${dir} lacks ${name}, which its manifest names. Copy the whole folder again.`);
    if (stats.isSymbolicLink()) throw new ModelFolderError(`Refusing the model folder ${dir}: ${name} is a symbolic link. Model files must be plain files inside the folder.`);
    if (!stats.isFile()) throw new ModelFolderError(`Refusing the model folder ${dir}: ${name} is not a regular file.`);
    if (path.dirname(await realpath(filePath)) !== dir) {
      throw new ModelFolderError(`Refusing the model folder ${dir}: ${name} resolves outside the folder.`);
    }
    const known = this.record.lookup(filePath, stats, expectedSha256);
    if (known !== null && (externalDataFor === 'data' || known.externalData !== undefined)) {
      this.verified.add(name);
      for (const location of known.externalData ?? []) await this.file(location, 'data');
      return;
    }
    const startedAt = this.record.hashingStartsAt();
    const actual = await sha256Of(filePath);
    this.hashed.push(name);
    if (actual !== expectedSha256) {
      throw new ModelFolderError(`The file ${name} in ${dir} is damaged or was changed: its sha256 is ${actual} but the manifest expects ${expectedSha256}. Copy the model again.`);
    }
    this.verified.add(name);
    const externalData = externalDataFor === 'graph' ? await this.externalData(name) : undefined;
    this.record.remember(filePath, stats, expectedSha256, startedAt, externalData);
  }

  /** Checks where `graph` reads external weights from, and those files; returns their names. */
  private async externalData(graph: string): Promise<string[]> {
    const locations: string[] = [];
    for (const { location, tensor } of await externalDataOf(this.dir, graph)) {
      const problem = externalDataLocationProblem(location);
      if (problem !== null) {
        throw new ModelFolderError(`Refusing the model folder ${this.dir}: ${graph} reads tensor ${JSON.stringify(tensor.slice(0, 200))} from ${JSON.stringify(location.slice(0, 200))}, ${problem}.`);
      }
      if (!locations.includes(location)) locations.push(location);
      await this.file(location, 'data');
    }
    return locations;
  }
}

/** Opens a model folder and verifies the files of `parts`; throws ModelFolderError with a sentence a user can act on. */
export async function openModelFolder(folder: string, options: OpenModelFolderOptions = {}): Promise<ModelFolder> {
  const dir = await realpath(path.resolve(folder)).catch(() => {
    throw new ModelFolderError(`The model folder ${folder} does not exist.`);
  });
  const manifest = await readManifest(dir);
  const record = options.record ?? new VerifiedFileRecord();
  const verifier = new FolderVerifier(dir, manifest, record);
  const { graphs, data } = partFiles(manifest, options.parts ?? ALL_MODEL_PARTS);
  try {
    for (const graph of graphs) await verifier.file(graph, 'graph');
    for (const name of data) await verifier.file(name, 'data');
  } finally {
    // What was found sound stays known even when a later file is refused.
    record.save();
  }
  const file = (name: string): string => {
    if (!verifier.verified.has(name)) throw new Error(`${name} of the model folder ${dir} was not verified: open the folder with the part that uses it.`);
    return path.join(dir, name);
  };
  return { dir, manifest, file, hashed: verifier.hashed };
}
