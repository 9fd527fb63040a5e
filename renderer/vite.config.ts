import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

const rendererRoot = fileURLToPath(new URL('.', import.meta.url));

/** The page is loaded from `serve` over http and from a custom protocol in Electron: relative asset paths fit both. */
export default defineConfig({
  root: rendererRoot,
  base: './',
  plugins: [svelte({ compilerOptions: { runes: true } })],
  build: {
    outDir: fileURLToPath(new URL('./dist', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    // Inline assets would need `data:` in script/style sources; keep every asset a file.
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 1024,
  },
});
