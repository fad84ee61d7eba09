import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (pkg: string): string => fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url));

export default defineConfig({
  resolve: {
    // Tests run against sources; the CLI's end-to-end tests run the built binary.
    alias: { '@estate/core': src('core'), '@estate/git': src('git'), '@estate/client': src('client'), '@estate/server': src('server') },
  },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'tests/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    reporters: ['default', './tests/summaryReporter.ts'],
  },
});
