import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // The examples import the package by name, as a user would.
    alias: { 'session-lifecycle': fileURLToPath(new URL('./src/index.ts', import.meta.url)) },
  },
  test: {
    include: ['test/**/*.test.ts'],
    // The workers the tests start serve the dashboard's page from dist/web.
    globalSetup: ['test/setup/build-dashboard.ts'],
    pool: 'forks',
    // The leak tests measure the heap after a full collection.
    execArgv: ['--expose-gc'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
