/** The one place model folders are found: a folder with manifest.json, or a folder of such folders. */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';

/** Expands folders of model folders into model folders, in the order given; a missing folder is an error. */
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
