import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'vitest/config';

/** Svelte component tests: compiled like the app, mounted in jsdom. */
export default defineConfig({
  plugins: [svelte({ compilerOptions: { runes: true } })],
  resolve: { conditions: ['browser'] },
  test: {
    root: new URL('../../', import.meta.url).pathname,
    include: ['test/renderer/components/**/*.spec.ts'],
    environment: 'jsdom',
    setupFiles: ['@testing-library/svelte/vitest'],
    pool: 'forks',
  },
});
