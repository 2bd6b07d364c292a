import {defineConfig} from 'vitest/config'

/** E2E files that need no engine (the built CLI and Compose v2's `config` only): they run before one is provisioned. */
const ENGINE_FREE = ['test/e2e/config-compat.test.ts', 'test/e2e/config-invalid.test.ts']

/**
 * Unit files that replace modules (vi.mock) need a fresh module graph each; every other unit file
 * shares its worker's (isolate: false), which saves a process and a module load per file: the
 * unit tier runs in ~25 s instead of ~63 s on two cores.
 */
const MOCKING = ['test/unit/deploy/run-build-backup.test.ts', 'test/unit/deploy/run-compose.test.ts', 'test/unit/deploy/run-swarm.test.ts', 'test/unit/security/secrets.test.ts']

/** Line coverage the unit tests keep for the orchestrators (issue 17); checked by `npm run coverage` only, so a plain unit run stays fast. */
const COVERED = ['src/engine/**', 'src/deploy/**', 'src/backup/**']

export default defineConfig({
  test: {
    // Vitest's default is one worker fewer than the cores, i.e. one on the two-core machines here;
    // the engine-free tiers are CPU-bound and use both (e2e keeps one file at a time, below).
    maxWorkers: 2,
    coverage: {
      provider: 'v8',
      include: COVERED,
      reporter: ['text'],
      thresholds: Object.fromEntries(COVERED.map((glob) => [glob, {lines: 80}])),
    },
    projects: [
      {test: {name: 'unit', include: ['test/unit/**/*.test.ts'], exclude: MOCKING, isolate: false}},
      {test: {name: 'unit-mocking', include: MOCKING}},
      {test: {name: 'offline', include: ENGINE_FREE, testTimeout: 180_000, hookTimeout: 180_000}},
      // tta config vs docker compose config on a corpus; engine-free (Compose's answers are recorded).
      {test: {name: 'conformance', include: ['test/conformance/**/*.test.ts']}},
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          exclude: ENGINE_FREE,
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
