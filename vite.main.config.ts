import { defineConfig } from 'vite';

/**
 * Main process and inference worker, as ES modules (package.json says "type": "module").
 * The native modules stay outside the bundle: packaging copies them beside it, unpacked from asar.
 */
export default defineConfig({
  build: {
    lib: {
      entry: {
        main: 'electron/main/main.ts',
        'inference-worker': 'electron/inference/inference-worker.ts',
      },
      formats: ['es'],
      fileName: (_format, entryName) => `${entryName}.js`,
    },
    rollupOptions: {
      external: ['better-sqlite3', 'onnxruntime-node'],
      // Bundled CommonJS packages call require() for Node built-ins; on the node platform an
      // ES module output gets a require made with createRequire for them.
      platform: 'node',
    },
    sourcemap: true,
  },
});
