/**
 * Provider names and the UNet precision choice, apart from onnxruntime itself, so the main
 * thread can name them without loading the runtime that only the inference worker uses.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { ProviderName } from '../../common/contract/run-request';

export type ConcreteProvider = Exclude<ProviderName, 'auto'>;

/** The order "auto" tries on each platform (DESIGN.md, "Execution providers"). */
export function autoProviderOrder(platform: NodeJS.Platform = process.platform): ConcreteProvider[] {
  if (platform === 'win32') return ['dml', 'webgpu', 'cpu'];
  if (platform === 'darwin') return ['coreml', 'webgpu', 'cpu'];
  return ['cuda', 'webgpu', 'cpu'];
}

/** The providers a request tries in turn: "auto" the platform's order, a named GPU provider then the CPU. */
export function providerAttemptOrder(requested: ProviderName, platform: NodeJS.Platform = process.platform): ConcreteProvider[] {
  if (requested === 'auto') return autoProviderOrder(platform);
  return requested === 'cpu' ? ['cpu'] : [requested, 'cpu'];
}

/** The folder onnxruntime-node loads its binding and native libraries from; null when it cannot be found. */
export function onnxruntimeBindingDir(platform: NodeJS.Platform = process.platform, arch: string = process.arch): string | null {
  try {
    const packageDir = path.dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
    return path.join(packageDir, 'bin', 'napi-v6', platform, arch);
  } catch {
    return null;
  }
}

/** onnxruntime's CUDA provider library on each platform; it loads it from its own folder. */
function cudaProviderLibrary(platform: NodeJS.Platform): string {
  if (platform === 'win32') return 'onnxruntime_providers_cuda.dll';
  return platform === 'darwin' ? 'libonnxruntime_providers_cuda.dylib' : 'libonnxruntime_providers_cuda.so';
}

const BINDING_FILE = 'onnxruntime_binding.node';
/** The Vulkan loader, which WebGPU (Dawn) opens on Linux; without it there is no adapter. */
const VULKAN_LOADER = 'libvulkan.so.1';

/** What decides whether a provider's libraries can be found: the platform, onnxruntime's folder and where the dynamic loader looks. */
export interface ProviderEnvironment {
  platform: NodeJS.Platform;
  /** onnxruntime-node's binding folder; null when it cannot be found. */
  bindingDir: string | null;
  /** The contents of /etc/ld.so.cache, the libraries the dynamic loader knows by name; null where there is none (not glibc Linux). */
  ldSoCache: Buffer | null;
  /** The folders the dynamic loader searches besides its cache: LD_LIBRARY_PATH's, the binding's, the default ones. */
  libraryDirs: readonly string[];
}

let thisMachine: ProviderEnvironment | null = null;

/** This process's environment, read once: the loader's paths cannot change for a running process. */
export function providerEnvironment(): ProviderEnvironment {
  if (thisMachine !== null) return thisMachine;
  const bindingDir = onnxruntimeBindingDir();
  let ldSoCache: Buffer | null = null;
  if (process.platform === 'linux') {
    try {
      ldSoCache = readFileSync('/etc/ld.so.cache');
    } catch {
      ldSoCache = null;
    }
  }
  const fromEnvironment = (process.env.LD_LIBRARY_PATH ?? '').split(':').filter((dir) => dir !== '');
  const libraryDirs = [...fromEnvironment, ...(bindingDir === null ? [] : [bindingDir]), '/lib', '/usr/lib', '/lib64', '/usr/lib64'];
  thisMachine = { platform: process.platform, bindingDir, ldSoCache, libraryDirs };
  return thisMachine;
}

/** Whether the dynamic loader would find `library`; null where that cannot be told without trying (no loader cache). */
export function loaderFinds(library: string, environment: ProviderEnvironment): boolean | null {
  if (environment.ldSoCache === null) return null;
  if (environment.ldSoCache.includes(Buffer.from(`${library}\0`))) return true;
  return environment.libraryDirs.some((dir) => existsSync(path.join(dir, library)));
}

/**
 * Why `provider` cannot start here, known from the files installed, without asking onnxruntime (a
 * CUDA attempt costs failed library loads at every model load, a WebGPU one without Vulkan prints
 * Dawn's warning); null when it may start and has to be tried. CUDA needs its provider library
 * beside the binding, an optional download this repository skips (README, "GPUs"); WebGPU on Linux
 * needs the Vulkan loader. Where the binding or the loader's cache is not found, nothing is concluded.
 */
export function missingProviderReason(provider: ConcreteProvider, environment: ProviderEnvironment = providerEnvironment()): string | null {
  const { bindingDir, platform } = environment;
  if (bindingDir === null || !existsSync(path.join(bindingDir, BINDING_FILE))) return null;
  if (provider === 'cuda') {
    const library = cudaProviderLibrary(platform);
    if (existsSync(path.join(bindingDir, library))) return null;
    return `CUDA is not installed (${bindingDir} has no ${library}; \`ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node\` adds it, see the README's GPUs section)`;
  }
  if (provider === 'webgpu' && platform === 'linux' && loaderFinds(VULKAN_LOADER, environment) === false) {
    return `WebGPU needs Vulkan, and its loader ${VULKAN_LOADER} is not installed (install the Vulkan loader, e.g. Debian's libvulkan1, and the GPU's Vulkan driver)`;
  }
  return null;
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

/** An error's first line, at most 300 characters: how a provider's failure is told in a fallback reason or a load error. */
export function firstLine(error: unknown): string {
  return String(error instanceof Error ? error.message : error).split('\n')[0]?.slice(0, 300) ?? '';
}
