import {defineConfig} from 'vitest/config'

export default defineConfig({
  test: {
    projects: [
      {test: {name: 'unit', include: ['test/unit/**/*.test.ts']}},
      // tta config vs docker compose config on a corpus; engine-free (Compose's answers are recorded).
      {test: {name: 'conformance', include: ['test/conformance/**/*.test.ts']}},
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          // Two cores: e2e files run one at a time, each stack under its own project name.
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 180_000,
          globalSetup: ['test/e2e/global-setup.ts'],
        },
      },
    ],
  },
})
