import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { app } from 'electron';
import { galleryFile, openGallery } from '../gallery';
import { createEngine } from '../inference';
import { findModelFolders } from '../service/create-studio-service';
import { StudioService } from '../service/studio-service';
import { builtInModelsPath, type AppLocation } from './resource-paths';

function appLocation(): AppLocation {
  return { isPackaged: app.isPackaged, resourcesPath: process.resourcesPath, appPath: app.getAppPath() };
}

/**
 * The service behind the window: the gallery in the user-data folder, the built-in models
 * shipped with the app plus any converted model dropped into the user-data `models` folder,
 * and the sampling worker built beside the main bundle.
 */
export function openStudioService(): StudioService {
  const dataDir = app.getPath('userData');
  const convertedModels = join(dataDir, 'models');
  mkdirSync(convertedModels, { recursive: true });
  const engine = createEngine({
    modelFolders: findModelFolders([builtInModelsPath(appLocation()), convertedModels]),
    workerEntry: new URL('./sampling-worker.js', import.meta.url),
  });
  return new StudioService({ engine, gallery: openGallery(galleryFile(dataDir)), appVersion: app.getVersion() });
}
