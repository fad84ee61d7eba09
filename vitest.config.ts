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
    // Most files wait on child processes, servers and git: three at a time on 2 cores took the
    // suite from 12.8 to 9.0 minutes (the default is one fewer than the cores).
    maxWorkers: 3,
    testTimeout: 30_000,
    hookTimeout: 30_000,
    reporters: ['default', './tests/summaryReporter.ts'],
  },
});
