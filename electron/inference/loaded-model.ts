/** A verified model folder with its sessions open and their inputs checked against the manifest. */
import type { ProviderName } from '../../common/contract/run-request';
import { openModelFolder, type ModelFolder } from './model-folder';
import { checkGraphInputs, openSession, type OpenedSession } from './sessions';

export interface LoadedModel {
  folder: ModelFolder;
  unet: OpenedSession;
  classifier: OpenedSession | null;
}

export async function loadModel(folderPath: string, provider: ProviderName, threads: number): Promise<LoadedModel> {
  const folder = await openModelFolder(folderPath);
  const { manifest } = folder;
  const unet = await openSession(folder.file(manifest.unet.file), 'UNet', { provider, threads });
  const unetInputs = [
    { name: manifest.unet.inputs.x, role: 'x' },
    { name: manifest.unet.inputs.t, role: 't' },
    ...(manifest.unet.inputs.y === null ? [] : [{ name: manifest.unet.inputs.y, role: 'y' }]),
  ];
  checkGraphInputs(unet.session, 'UNet', unetInputs, [manifest.unet.output]);
  let classifier: OpenedSession | null = null;
  if (manifest.classifier !== null) {
    // The classifier follows the provider the UNet really got, so both run on the same device.
    classifier = await openSession(folder.file(manifest.classifier.file), 'classifier', { provider: unet.provider, threads });
    const { inputs, outputs } = manifest.classifier;
    checkGraphInputs(classifier.session, 'classifier', [
      { name: inputs.x, role: 'x' },
      { name: inputs.t, role: 't' },
      { name: inputs.y, role: 'y' },
    ], [outputs.grad, outputs.logits]);
  }
  return { folder, unet, classifier };
}

export async function releaseModel(model: LoadedModel): Promise<void> {
  await model.unet.session.release();
  await model.classifier?.session.release();
}
