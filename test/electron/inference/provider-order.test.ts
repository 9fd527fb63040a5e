/**
 * A provider whose libraries are not installed is skipped without asking onnxruntime, and the run
 * still says why it went to the CPU.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fallbackReason, missingProviderReason, onnxruntimeBindingDir, providerAttemptOrder } from '../../../electron/inference/provider-order';
import { openSession } from '../../../electron/inference/sessions';

const tinyUnet = path.join(import.meta.dirname, '..', '..', 'fixtures', 'tiny-model', 'unet.onnx');

let bindingDir: string;
beforeEach(() => {
  bindingDir = mkdtempSync(path.join(tmpdir(), 'gds-binding-'));
});
afterEach(() => rmSync(bindingDir, { recursive: true, force: true }));

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
    const reason = missingProviderReason('cuda', bindingDir, 'linux');
    expect(reason).toBe(
      `CUDA is not installed (${bindingDir} has no libonnxruntime_providers_cuda.so; \`ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node\` adds it, see the README's GPUs section)`,
    );
    expect(fallbackReason([{ provider: 'cuda', error: reason! }], 'cpu')).toBe(`CUDA did not start: ${reason}; ran on the CPU.`);
    expect(missingProviderReason('cuda', bindingDir, 'win32')).toContain('has no onnxruntime_providers_cuda.dll;');
  });

  it('leaves CUDA to be tried once its library lies beside the binding, and never skips another provider', () => {
    writeFileSync(path.join(bindingDir, 'onnxruntime_binding.node'), '');
    writeFileSync(path.join(bindingDir, 'libonnxruntime_providers_cuda.so'), '');
    expect(missingProviderReason('cuda', bindingDir, 'linux')).toBeNull();
    for (const provider of ['webgpu', 'dml', 'coreml', 'cpu'] as const) expect(missingProviderReason(provider, bindingDir, 'linux'), provider).toBeNull();
  });

  it('concludes nothing from a folder without the binding, where the libraries may lie elsewhere', () => {
    expect(missingProviderReason('cuda', bindingDir, 'linux')).toBeNull();
    expect(missingProviderReason('cuda', null, 'linux')).toBeNull();
  });

  const bindingHere = onnxruntimeBindingDir();
  const cudaHere = bindingHere !== null && existsSync(path.join(bindingHere, 'libonnxruntime_providers_cuda.so'));
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
