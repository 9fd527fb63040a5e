import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { app } from 'electron';
import { openStudio, type Studio } from '../service/open-studio';
import { LINALG_GRAPHS_FOLDER } from '../inference/linalg-graph-files';
import { builtInModelsPath, resourcePath, type AppLocation } from './resource-paths';

function appLocation(): AppLocation {
  return { isPackaged: app.isPackaged, resourcesPath: process.resourcesPath, appPath: app.getAppPath() };
}

/**
 * The studio behind the window: the gallery in the user-data folder, the built-in models
 * shipped with the app plus any converted model dropped into the user-data `models` folder,
 * the inference worker built beside the main bundle, and the metrics' graphs shipped beside app.asar.
 */
export function openStudioInUserData(): Studio {
  const dataDir = app.getPath('userData');
  const convertedModels = join(dataDir, 'models');
  mkdirSync(convertedModels, { recursive: true });
  return openStudio({
    dataDir,
    modelDirs: [builtInModelsPath(appLocation()), convertedModels],
    workerEntry: new URL('./inference-worker.js', import.meta.url),
    linalgGraphsDir: resourcePath(appLocation(), LINALG_GRAPHS_FOLDER),
    appVersion: app.getVersion(),
  });
}
