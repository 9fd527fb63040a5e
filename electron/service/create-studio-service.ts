/** Builds a StudioService over a data folder and model folders (what `serve` and tests need). */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { galleryFile, openGallery } from '../gallery';
import { createEngine, type UnetPrecision } from '../inference';
import { StudioService } from './studio-service';

export interface StudioServiceSetup {
  /** Folder of the gallery database (created when missing). */
  dataDir: string;
  /** Each entry is a model folder (with manifest.json) or a folder of model folders. */
  modelDirs: string[];
  /** onnxruntime intra-op threads; 0 lets onnxruntime choose. */
  threads?: number;
  /** Which UNet graph runs (default "auto": float16 on GPU providers when the model has it). */
  unetPrecision?: UnetPrecision;
  appVersion?: string;
}

/** Expands folders of model folders into model folders, in the order given. */
export function findModelFolders(modelDirs: readonly string[]): string[] {
  const folders: string[] = [];
  for (const dir of modelDirs) {
    const resolved = path.resolve(dir);
    if (!existsSync(resolved)) throw new Error(`The model folder ${resolved} does not exist. Pass --models with a folder that holds manifest.json.`);
    if (existsSync(path.join(resolved, 'manifest.json'))) {
      folders.push(resolved);
      continue;
    }
    for (const entry of readdirSync(resolved, { withFileTypes: true })) {
      const candidate = path.join(resolved, entry.name);
      if (entry.isDirectory() && existsSync(path.join(candidate, 'manifest.json'))) folders.push(candidate);
    }
  }
  return folders;
}

export function packageVersion(): string {
  const packageJson = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
  return packageJson.version ?? '0.0.0';
}

export function createStudioService(setup: StudioServiceSetup): StudioService {
  const engine = createEngine({ modelFolders: findModelFolders(setup.modelDirs), threads: setup.threads ?? 0, unetPrecision: setup.unetPrecision ?? 'auto' });
  const gallery = openGallery(galleryFile(setup.dataDir));
  return new StudioService({ engine, gallery, appVersion: setup.appVersion ?? packageVersion() });
}
