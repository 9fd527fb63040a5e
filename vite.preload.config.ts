import { defineConfig } from 'vite';

/**
 * A sandboxed preload is one classic script: everything it imports is bundled into it, and
 * the .cjs name keeps it a CommonJS file inside this "type": "module" package.
 */
export default defineConfig({
  build: {
    rollupOptions: {
      output: { entryFileNames: '[name].cjs' },
    },
    sourcemap: true,
  },
});
