/** A model manifest past the sizes the studio can hold is refused with the limit named. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ModelManifest } from '../../common/models/manifest';

const tinyManifest = JSON.parse(readFileSync(path.join(import.meta.dirname, '../fixtures/tiny-model/manifest.json'), 'utf8')) as Record<string, Record<string, unknown>>;

function withPart(part: string, change: Record<string, unknown>): unknown {
  return { ...tinyManifest, [part]: { ...tinyManifest[part], ...change } };
}

function problems(value: unknown): string[] {
  const parsed = ModelManifest.safeParse(value);
  return parsed.success ? [] : parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
}

describe('ModelManifest bounds', () => {
  it('accepts the tiny test model and the largest sizes allowed', () => {
    expect(problems(tinyManifest)).toEqual([]);
    expect(problems(withPart('diffusion', { steps: 100_000 }))).toEqual([]);
    expect(problems(withPart('image', { size: 1024, channels: 3 }))).toEqual([]);
  });

  it.each([
    ['diffusion', { steps: 100_001 }, 'diffusion.steps: diffusion.steps must be a whole number from 1 to 100,000 (got 100,001)'],
    ['image', { size: 2048 }, 'image.size: image.size must be a whole number from 1 to 1,024 (got 2,048)'],
    ['image', { channels: 2 }, 'image.channels: image.channels must be 1 (grey) or 3 (RGB)'],
    ['image', { channels: 4 }, 'image.channels: image.channels must be 1 (grey) or 3 (RGB)'],
    ['classes', { count: 100_001 }, 'classes.count: classes.count must be a whole number from 1 to 100,000 (got 100,001)'],
  ])('refuses %s %j', (part, change, problem) => {
    expect(problems(withPart(part, change))).toEqual([problem]);
  });

  it('refuses a 1 MiB model id or class name without echoing it', () => {
    const [idProblem] = problems({ ...tinyManifest, id: 'a'.repeat(1024 * 1024) });
    expect(idProblem).toBe(`id: a model id has at most 200 characters (got 1,048,576, starting "${'a'.repeat(60)}…"); shorten it`);
    const [nameProblem] = problems(withPart('classes', { names: ['circle', 'square', 'x'.repeat(1024 * 1024)] }));
    expect(nameProblem).toMatch(/^classes\.names\.2: a class name has at most 100 characters \(got 1,048,576/);
    expect(nameProblem!.length).toBeLessThan(200);
  });
});

describe('ModelManifest timesteps', () => {
  it('takes rescaled timesteps only where T = 1000, where t·1000/T is the whole number t', () => {
    expect(problems(withPart('diffusion', { steps: 1000, rescale_timesteps: true }))).toEqual([]);
    const [problem] = problems(withPart('diffusion', { steps: 2000, rescale_timesteps: true }));
    expect(problem).toMatch(/^diffusion\.rescale_timesteps: rescale_timesteps needs the fractional timesteps t·1000\/T/);
    expect(problem).toMatch(/only T = 1000/);
  });
});
