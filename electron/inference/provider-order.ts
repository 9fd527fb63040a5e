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
  /** Set when the provider opened and then failed while sampling: the 1-based step of its batch it stopped at. */
  failedAt?: { step: number; steps: number };
}

/** A provider's name as a sentence shows it. */
export function providerLabel(provider: ConcreteProvider): string {
  return provider.toUpperCase();
}

/**
 * Why a job ran on `used` rather than on what it asked for, in one sentence ("CUDA failed at
 * step 12 of 50: …; finished on the CPU"); null when nothing fell back. A job still `running`
 * (or one that then failed) says it continued there rather than finished.
 */
export function fallbackReason(attempts: readonly ProviderAttempt[], used: ConcreteProvider, stage: 'running' | 'finished' = 'finished'): string | null {
  if (attempts.length === 0) return null;
  const parts = attempts.map((attempt) => {
    // Each reason goes on after its colon, so its own closing full stop is dropped.
    const error = attempt.error.replace(/[.\s]+$/, '');
    return attempt.failedAt === undefined
      ? `${providerLabel(attempt.provider)} did not start: ${error}`
      : `${providerLabel(attempt.provider)} failed at step ${attempt.failedAt.step} of ${attempt.failedAt.steps}: ${error}`;
  });
  const ending = !attempts.some((attempt) => attempt.failedAt !== undefined) ? 'ran' : stage === 'finished' ? 'finished' : 'continued';
  return `${parts.join('; ')}; ${ending} on the ${providerLabel(used)}.`;
}

/** The UNet's float precision: "auto" is float16 on GPU providers when the model has that graph, else float32. */
export type UnetPrecision = 'auto' | 'fp32' | 'fp16';
/** The UNet graph that really runs once "auto" is decided. */
export type UnetGraphPrecision = Exclude<UnetPrecision, 'auto'>;
