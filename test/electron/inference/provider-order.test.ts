/**
 * A provider whose libraries are not installed is skipped without asking onnxruntime, and the run
 * still says why it went to the CPU.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fallbackReason, loaderFinds, missingProviderReason, onnxruntimeBindingDir, providerAttemptOrder, providerEnvironment, type ProviderEnvironment } from '../../../electron/inference/provider-order';
import { openSession } from '../../../electron/inference/sessions';

const tinyUnet = path.join(import.meta.dirname, '..', '..', 'fixtures', 'tiny-model', 'unet.onnx');

let bindingDir: string;
beforeEach(() => {
  bindingDir = mkdtempSync(path.join(tmpdir(), 'gds-binding-'));
});
afterEach(() => rmSync(bindingDir, { recursive: true, force: true }));

/** A glibc loader cache naming these libraries, as /etc/ld.so.cache stores each name and path. */
const loaderCache = (...libraries: string[]): Buffer => Buffer.from(`glibc-ld.so.cache1.1\0${libraries.map((name) => `${name}\0/usr/lib/x86_64-linux-gnu/${name}\0`).join('')}`);

/** A Linux machine whose binding folder is `bindingDir`, its loader knowing `cache`. */
const linux = (overrides: Partial<ProviderEnvironment> = {}): ProviderEnvironment => ({ platform: 'linux', bindingDir, ldSoCache: loaderCache('libc.so.6'), libraryDirs: [], ...overrides });

const bindingHere = onnxruntimeBindingDir();
const cudaHere = bindingHere !== null && existsSync(path.join(bindingHere, 'libonnxruntime_providers_cuda.so'));

describe('which providers a request tries', () => {
  it('goes down the platform order for auto, from a named GPU provider to the CPU, and only to the CPU for cpu', () => {
    expect(providerAttemptOrder('auto', 'linux')).toEqual(['cuda', 'webgpu', 'cpu']);
    expect(providerAttemptOrder('auto', 'win32')).toEqual(['dml', 'webgpu', 'cpu']);
    expect(providerAttemptOrder('cuda', 'linux')).toEqual(['cuda', 'cpu']);
    expect(providerAttemptOrder('cpu', 'linux')).toEqual(['cpu']);
  });
});

describe('a CUDA provider library that is not installed', () => {
  it('is named, with the folder looked in and how to install it, when the binding is there without it', () => {
    writeFileSync(path.join(bindingDir, 'onnxruntime_binding.node'), '');
    const reason = missingProviderReason('cuda', linux());
    expect(reason).toBe(
      `CUDA is not installed (${bindingDir} has no libonnxruntime_providers_cuda.so; \`ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node\` adds it, see the README's GPUs section)`,
    );
    expect(fallbackReason([{ provider: 'cuda', error: reason! }], 'cpu')).toBe(`CUDA did not start: ${reason}; ran on the CPU.`);
    expect(missingProviderReason('cuda', linux({ platform: 'win32' }))).toContain('has no onnxruntime_providers_cuda.dll;');
  });

  it('leaves CUDA to be tried once its library lies beside the binding, and never skips another provider', () => {
    writeFileSync(path.join(bindingDir, 'onnxruntime_binding.node'), '');
    writeFileSync(path.join(bindingDir, 'libonnxruntime_providers_cuda.so'), '');
    expect(missingProviderReason('cuda', linux())).toBeNull();
    for (const provider of ['webgpu', 'dml', 'coreml', 'cpu'] as const) expect(missingProviderReason(provider, linux({ ldSoCache: loaderCache('libvulkan.so.1') })), provider).toBeNull();
  });

  it('concludes nothing from a folder without the binding, where the libraries may lie elsewhere', () => {
    expect(missingProviderReason('cuda', linux())).toBeNull();
    expect(missingProviderReason('cuda', linux({ bindingDir: null }))).toBeNull();
  });

  it('concludes nothing from a folder without the binding, for WebGPU either', () => {
    expect(missingProviderReason('webgpu', linux({ ldSoCache: loaderCache() }))).toBeNull();
  });

  it.skipIf(process.platform !== 'linux' || cudaHere)('on this machine, which lacks it, a CUDA request opens on the CPU and keeps the reason instead of onnxruntime\'s failed load', async () => {
    const opened = await openSession(tinyUnet, 'UNet', { provider: 'cuda', threads: 1 });
    try {
      expect(opened.provider).toBe('cpu');
      expect(opened.fallbacks).toEqual([{ provider: 'cuda', error: missingProviderReason('cuda') }]);
      expect(fallbackReason(opened.fallbacks, opened.provider)).toMatch(/^CUDA did not start: CUDA is not installed \(.*onnxruntime-node\/bin\/napi-v6\/linux\/x64 has no libonnxruntime_providers_cuda\.so; .*\); ran on the CPU\.$/);
    } finally {
      await opened.session.release();
    }
  });
});

describe('WebGPU on Linux without the Vulkan loader', () => {
  beforeEach(() => writeFileSync(path.join(bindingDir, 'onnxruntime_binding.node'), ''));

  it('is skipped with a sentence saying what to install when neither the loader cache nor its folders have libvulkan.so.1', () => {
    expect(missingProviderReason('webgpu', linux())).toBe(
      'WebGPU needs Vulkan, and its loader libvulkan.so.1 is not installed (install the Vulkan loader, e.g. Debian\'s libvulkan1, and the GPU\'s Vulkan driver)',
    );
  });

  it('is tried when the loader cache names it, when a searched folder holds it, and where there is no loader cache to tell', () => {
    expect(missingProviderReason('webgpu', linux({ ldSoCache: loaderCache('libc.so.6', 'libvulkan.so.1') }))).toBeNull();
    const ownLibraries = mkdtempSync(path.join(tmpdir(), 'gds-libs-'));
    try {
      writeFileSync(path.join(ownLibraries, 'libvulkan.so.1'), '');
      expect(missingProviderReason('webgpu', linux({ libraryDirs: [ownLibraries] }))).toBeNull();
    } finally {
      rmSync(ownLibraries, { recursive: true, force: true });
    }
    expect(missingProviderReason('webgpu', linux({ ldSoCache: null }))).toBeNull();
    // Not on other platforms, whose WebGPU does not go through Vulkan's loader.
    expect(missingProviderReason('webgpu', linux({ platform: 'win32' }))).toBeNull();
  });

  it.skipIf(!existsSync('/etc/ld.so.cache'))('reads this machine\'s loader cache as the loader does: the C library is in it, a name that only starts like one is not', () => {
    const environment = { ...providerEnvironment(), libraryDirs: [] };
    expect(environment.ldSoCache).toEqual(readFileSync('/etc/ld.so.cache'));
    expect(loaderFinds('libc.so.6', environment)).toBe(true);
    expect(loaderFinds('libc.so', environment)).toBe(false);
  });

  const vulkanHere = existsSync('/etc/ld.so.cache') && loaderFinds('libvulkan.so.1', providerEnvironment()) !== false;
  it.skipIf(process.platform !== 'linux' || cudaHere || vulkanHere)('on this machine, which lacks both, auto opens on the CPU without trying CUDA or WebGPU, and says why', async () => {
    const opened = await openSession(tinyUnet, 'UNet', { provider: 'auto', threads: 1 });
    try {
      expect(opened.provider).toBe('cpu');
      expect(opened.fallbacks).toEqual([
        { provider: 'cuda', error: missingProviderReason('cuda') },
        { provider: 'webgpu', error: missingProviderReason('webgpu') },
      ]);
      expect(fallbackReason(opened.fallbacks, opened.provider)).toMatch(/^CUDA did not start: CUDA is not installed \(.*\); WEBGPU did not start: WebGPU needs Vulkan, and its loader libvulkan\.so\.1 is not installed \(.*\); ran on the CPU\.$/);
    } finally {
      await opened.session.release();
    }
  });
});
