import { fileURLToPath } from 'node:url';
import { defineConfig, mergeConfig, type Plugin } from 'vite';
import rendererConfig from './renderer/vite.config';

/** The dev server injects component CSS as <style> elements; the built page links CSS files instead. */
const developmentStyles: Plugin = {
  name: 'studio:development-styles',
  apply: 'serve',
  transformIndexHtml: (html) => html.replace(`style-src 'self'`, `style-src 'self' 'unsafe-inline'`),
};

/**
 * The renderer as Electron Forge builds it: the renderer's own Vite config, with the output
 * where the main process looks for it (.vite/renderer/main_window).
 */
export default defineConfig(
  mergeConfig(rendererConfig, {
    plugins: [developmentStyles],
    build: { outDir: fileURLToPath(new URL('./.vite/renderer/main_window', import.meta.url)) },
  }),
);
