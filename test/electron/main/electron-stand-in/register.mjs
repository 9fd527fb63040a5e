import { register } from 'node:module';

register('./resolve-electron.mjs', import.meta.url);
