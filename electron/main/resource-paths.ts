import { join } from 'node:path';

/** Where the app runs from: Electron's `app.isPackaged`, `process.resourcesPath` and `app.getAppPath()`. */
export interface AppLocation {
  isPackaged: boolean;
  resourcesPath: string;
  /** The project root while developing (where package.json is). */
  appPath: string;
}

/**
 * Path of a shipped resource, given relative to the project root (`models/fashion-mnist`).
 * Packaging copies these folders beside app.asar with the same relative path, so one name
 * works in development and in the installed app.
 */
export function resourcePath(location: AppLocation, ...segments: string[]): string {
  const root = location.isPackaged ? location.resourcesPath : location.appPath;
  return join(root, ...segments);
}

/** Built-in model folders, relative to the project root; packaging copies each one beside app.asar. */
export const builtInModelFolders = ['models/fashion-mnist'] as const;

/** The folder that holds the built-in model folders. */
export function builtInModelsPath(location: AppLocation): string {
  return resourcePath(location, 'models');
}
