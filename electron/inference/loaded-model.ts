/** A verified model folder with its sessions open and their inputs checked against the manifest. */
import type { ProviderName } from '../../common/contract/run-request';
import { openModelFolder, type ModelFolder, type ModelPart } from './model-folder';
import { missingProviderReason, providerAttemptOrder } from './provider-order';
import { checkGraphInputs, openSession, type ConcreteProvider, type OpenedSession, type UnetGraphPrecision, type UnetPrecision } from './sessions';

export interface LoadedModel {
  folder: ModelFolder;
  unet: OpenedSession;
  /** Which of the manifest's UNet graphs runs: unet.file (fp32) or unet.fp16_file. */
  unetPrecision: UnetGraphPrecision;
  classifier: OpenedSession | null;
}

/** Whether the request, or on "auto" the policy (GPU providers only), asks for the float16 UNet graph. */
export function wantsFp16(precision: UnetPrecision, provider: ConcreteProvider): boolean {
  return precision === 'fp16' || (precision === 'auto' && provider !== 'cpu');
}

export async function loadModel(folderPath: string, provider: ProviderName, threads: number, precision: UnetPrecision = 'auto'): Promise<LoadedModel> {
  // Only the graphs a provider that will be tried opens are verified: the float16 UNet only where one wants it.
  const tried = providerAttemptOrder(provider).filter((candidate) => missingProviderReason(candidate) === null);
  const parts: ModelPart[] = ['unet', 'classifier', ...(tried.some((candidate) => wantsFp16(precision, candidate)) ? (['unet-fp16'] as const) : [])];
  const folder = await openModelFolder(folderPath, { parts });
  const { manifest } = folder;
  const { file, fp16_file: fp16File } = manifest.unet;
  /** The float16 graph's file where the model has one and it is wanted on `candidate`, else null. */
  const fp16GraphOn = (candidate: ConcreteProvider): string | null =>
    fp16File !== null && wantsFp16(precision, candidate) ? fp16File : null;
  const unet = await openSession((candidate) => folder.file(fp16GraphOn(candidate) ?? file), 'UNet', { provider, threads });
  const unetPrecision: UnetGraphPrecision = fp16GraphOn(unet.provider) === null ? 'fp32' : 'fp16';
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
  return { folder, unet, unetPrecision, classifier };
}

export async function releaseModel(model: LoadedModel): Promise<void> {
  await model.unet.session.release();
  await model.classifier?.session.release();
}
