/** The one place model folders are found: a folder with manifest.json, or a folder of such folders. */
import { existsSync, lstatSync, readdirSync } from 'node:fs';
import path from 'node:path';

function isFile(file: string): boolean {
  try {
    return lstatSync(file).isFile();
  } catch {
    return false;
  }
}

/** Expands folders of model folders into model folders, in the order given (sub-folders by name); a missing folder is an error. */
export function findModelFolders(modelDirs: readonly string[]): string[] {
  const folders: string[] = [];
  for (const dir of modelDirs) {
    const resolved = path.resolve(dir);
    if (!existsSync(resolved)) throw new Error(`The model folder ${resolved} does not exist. Pass --models with a folder that holds manifest.json.`);
    if (existsSync(path.join(resolved, 'manifest.json'))) {
      folders.push(resolved);
      continue;
    }
    const entries = readdirSync(resolved, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const candidate = path.join(resolved, entry.name);
      if (entry.isDirectory() && isFile(path.join(candidate, 'manifest.json'))) folders.push(candidate);
    }
  }
  return folders;
}
