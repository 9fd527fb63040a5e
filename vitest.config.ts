import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/build/**/*.test.ts', 'test/common/**/*.test.ts', 'test/electron/**/*.test.ts', 'test/renderer/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
