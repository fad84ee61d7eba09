// Lint: TypeScript rules plus the architecture's import rules (PRODUCT.md "Architecture"):
// core is pure (no node: modules), packages talk only through each other's public entry point,
// and dependencies point one way: core <- git <- server <- cli, and client <- {cli, agent} (client stands alone).
import js from '@eslint/js';
import importX from 'eslint-plugin-import-x';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const deepImports = {
  group: ['@estate/*/*', '**/packages/*/src/**', '../../*/src/**'],
  message: 'Import another package through its entry point (@estate/<pkg>), never its files.',
};

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'bench/work/**', 'demo-estate/**', 'demo-data/**', 'estate-data/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    plugins: { 'import-x': importX },
    rules: {
      'import-x/no-cycle': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-restricted-imports': ['error', { patterns: [deepImports] }],
    },
  },
  {
    files: ['packages/core/src/**/*.ts'],
    ignores: ['**/*.test.ts', 'packages/core/src/testing/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            deepImports,
            { group: ['node:*', 'fs', 'path', 'child_process', 'net', 'http', 'os'], message: 'core is pure: side effects arrive as parameters.' },
            { group: ['@estate/*'], message: 'core depends on no other package.' },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'process', message: 'core reads no environment; pass values in.' },
        { name: 'Buffer', message: 'core is runtime-neutral: use Uint8Array and TextEncoder/TextDecoder.' },
      ],
    },
  },
  {
    files: ['packages/git/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [deepImports, { group: ['@estate/cli', '@estate/server'], message: 'git depends on core only.' }] },
      ],
    },
  },
  {
    files: ['packages/server/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [deepImports, { group: ['@estate/cli', '@estate/client'], message: 'server depends on core and git only.' }] },
      ],
    },
  },
  {
    files: ['packages/client/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [deepImports, { group: ['@estate/*', 'node:child_process', 'node:fs'], message: 'client is a standalone HTTP client: no server code, no local I/O.' }] },
      ],
    },
  },
  {
    files: ['packages/agent/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [deepImports, { group: ['@estate/core', '@estate/git', '@estate/server', '@estate/cli'], message: 'the agent depends on client only.' }] },
      ],
    },
  },
  {
    // The web UI runs in the browser: DOM globals, and no server or node-only code (PRODUCT.md: web depends on client only).
    files: ['packages/web/**/*.{ts,tsx}'],
    ignores: ['packages/web/vite.config.ts', 'packages/web/src/**/*.test.ts'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [deepImports, { group: ['node:*', '@estate/core', '@estate/git', '@estate/server', '@estate/cli', '@estate/agent'], message: 'the web UI runs in the browser and depends on @estate/client only.' }] },
      ],
    },
  },
  {
    // import-x cannot resolve vite's packages (it falls back to a resolver that is not installed); a config file has no cycles.
    files: ['packages/web/vite.config.ts'],
    rules: { 'import-x/no-cycle': 'off' },
  },
  {
    files: ['**/*.mjs'],
    rules: { '@typescript-eslint/no-unused-vars': 'off' },
  },
);
