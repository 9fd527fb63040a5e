import { join } from 'node:path';

/** The gallery database inside a data folder (the app's user-data folder, or `serve --data`). */
export function galleryFile(dataDir: string): string {
  return join(dataDir, 'gallery.sqlite');
}
