import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';
import svelte from 'eslint-plugin-svelte';

const nodeBuiltins = ['node:*', 'fs', 'path', 'os', 'crypto', 'worker_threads', 'child_process', 'url', 'stream', 'util', 'events', 'http', 'net', 'zlib'];
const runtimePackages = ['electron', 'onnxruntime-node', 'better-sqlite3', 'ws'];

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'out/', '.vite/', '.venv/', 'models/tools/', 'test-results/', 'renderer/dist/', '.cache/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...svelte.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['common/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: [...nodeBuiltins, ...runtimePackages], message: 'common/ runs anywhere: no Node, Electron, DOM or native imports.' },
          { group: ['**/electron/**', '**/renderer/**'], message: 'common/ must not import runtime-specific folders.' },
        ],
      }],
    },
  },
  {
    files: ['electron/**/*.ts'],
    ignores: ['electron/inference/**'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [{ name: 'onnxruntime-node', message: 'Only electron/inference may import onnxruntime-node.' }],
        patterns: [{ group: ['**/renderer/**'], message: 'The main process does not import renderer code.' }],
      }],
    },
  },
  {
    // Components and rune modules: the Svelte parser, with TypeScript for `<script lang="ts">`.
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: {
      parserOptions: {
        parser: tseslint.parser,
        extraFileExtensions: ['.svelte'],
        svelteConfig: { compilerOptions: { runes: true } },
      },
    },
  },
  {
    files: ['renderer/**/*.ts', 'renderer/**/*.svelte'],
    ignores: ['renderer/*.config.ts'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: [...nodeBuiltins, ...runtimePackages], message: 'The renderer is a sandboxed page: no Node or native imports.' },
          { group: ['**/electron/**'], message: 'The renderer talks to the main process only through StudioApi.' },
        ],
      }],
    },
  },
);
