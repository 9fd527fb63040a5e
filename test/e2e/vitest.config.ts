import { defineConfig } from 'vitest/config';

/** End-to-end tests: `serve` and Debian Chromium, one file at a time. */
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.e2e.ts'],
    globalSetup: ['test/e2e/renderer-build-setup.ts'],
    root: new URL('../../', import.meta.url).pathname,
    testTimeout: 300_000,
    hookTimeout: 400_000,
    fileParallelism: false,
    pool: 'forks',
  },
});
