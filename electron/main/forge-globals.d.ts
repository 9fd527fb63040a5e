/** Set by Electron Forge's Vite plugin: the dev server's URL under `npm start`, undefined in a packaged build. */
declare const MAIN_WINDOW_VITE_DEV_SERVER_URL: string | undefined;
/** Name of the renderer build, the folder under .vite/renderer that holds it. */
declare const MAIN_WINDOW_VITE_NAME: string;
