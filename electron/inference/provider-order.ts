/**
 * Provider names and the UNet precision choice, apart from onnxruntime itself, so the main
 * thread can name them without loading the runtime that only the inference worker uses.
 */
import type { ProviderName } from '../../common/contract/run-request';

export type ConcreteProvider = Exclude<ProviderName, 'auto'>;

/** The order "auto" tries on each platform (DESIGN.md, "Execution providers"). */
export function autoProviderOrder(platform: NodeJS.Platform = process.platform): ConcreteProvider[] {
  if (platform === 'win32') return ['dml', 'webgpu', 'cpu'];
  if (platform === 'darwin') return ['coreml', 'webgpu', 'cpu'];
  return ['cuda', 'webgpu', 'cpu'];
}

export interface ProviderAttempt {
  provider: ConcreteProvider;
  error: string;
}

/** The UNet's float precision: "auto" is float16 on GPU providers when the model has that graph, else float32. */
export type UnetPrecision = 'auto' | 'fp32' | 'fp16';
/** The UNet graph that really runs once "auto" is decided. */
export type UnetGraphPrecision = Exclude<UnetPrecision, 'auto'>;
