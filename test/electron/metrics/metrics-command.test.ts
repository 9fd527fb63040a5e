import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { metricsCommand, type MetricsReport } from '../../../electron/cli/commands/metrics';

const fixture = (name: string) => join(import.meta.dirname, '..', '..', 'fixtures', 'metrics', name);
const expected = JSON.parse(readFileSync(fixture('expected.json'), 'utf8')) as Record<string, number>;

async function runMetrics(args: string[]): Promise<MetricsReport> {
  const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  try {
    await metricsCommand().exitOverride().parseAsync(args, { from: 'user' });
    const printed = write.mock.calls.map((call) => String(call[0])).join('');
    return JSON.parse(printed) as MetricsReport;
  } finally {
    write.mockRestore();
  }
}

describe('metrics command', () => {
  it('prints fid, precision, recall and inception_score as JSON', async () => {
    const report = await runMetrics([
      '--features', fixture('generated_features.npy'),
      '--reference', fixture('reference_features.npy'),
      '--reference-mu', fixture('reference_mu.npy'),
      '--reference-sigma', fixture('reference_sigma.npy'),
      '--logits', fixture('generated_logits.npy'),
      '--threads', '1',
    ]);
    expect(Math.abs(report.fid - expected.fid!) / expected.fid!).toBeLessThan(1e-6);
    expect(report.precision).toBe(expected.precision);
    expect(report.recall).toBe(expected.recall);
    expect(report.samples).toBe(300);
    expect(report.inception_score).toBeCloseTo(expected.inception_score!, 12);
    expect(report.inception_score_splits).toEqual([300]);
    expect(report.density).toBeCloseTo(expected.density!, 14);
    expect(report.coverage).toBe(expected.coverage);
  });

  it('estimates the reference statistics from its features and leaves out IS without logits', async () => {
    const report = await runMetrics(['--features', fixture('generated_features.npy'), '--reference', fixture('reference_features.npy'), '--threads', '1']);
    expect(Math.abs(report.fid - expected.fid!) / expected.fid!).toBeLessThan(1e-6);
    expect(report).not.toHaveProperty('inception_score');
  });

  it('says which file is missing', async () => {
    await expect(runMetrics(['--features', fixture('missing.npy'), '--reference', fixture('reference_features.npy')])).rejects.toThrow(
      /Cannot read .*missing\.npy: no such file/,
    );
  });

  it('refuses logits that do not belong to the features', async () => {
    await expect(
      runMetrics(['--features', fixture('generated_features.npy'), '--reference', fixture('reference_features.npy'), '--logits', fixture('reference_features.npy')]),
    ).rejects.toThrow(/400 rows of logits for 300 feature rows/);
  });
});
