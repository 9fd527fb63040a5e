import { homedir } from 'node:os';
import { join } from 'node:path';

/** The studio's name as Electron uses it for the user-data folder. */
const PRODUCT_NAME = 'Guided Diffusion Studio';

/** The gallery database inside a data folder (the app's user-data folder, or `serve --data`). */
export function galleryFile(dataDir: string): string {
  return join(dataDir, 'gallery.sqlite');
}

/**
 * The folder Electron gives the studio as `userData` (appData/productName), computed
 * without Electron so the command line finds the same gallery as the app.
 */
export function defaultDataDir(platform: NodeJS.Platform = process.platform, env: NodeJS.ProcessEnv = process.env): string {
  if (platform === 'win32') return join(env.APPDATA ?? join(homedir(), 'AppData', 'Roaming'), PRODUCT_NAME);
  if (platform === 'darwin') return join(homedir(), 'Library', 'Application Support', PRODUCT_NAME);
  return join(env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), PRODUCT_NAME);
}
