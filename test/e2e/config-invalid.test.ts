import {spawnSync} from 'node:child_process'
import {existsSync} from 'node:fs'
import {join, resolve} from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'

import {expectationProblems, expectedText, findsExpectedError, loadCases} from '../fixtures/compose-invalid/cases.js'

const ROOT = resolve(import.meta.dirname, '..', '..')
const RUN = join(ROOT, 'bin', 'run.js')
const cases = loadCases()

/**
 * The environment of a user who has set nothing: no TTA_* variables leaking in from the shell
 * (the corpus relies on some being unset), no colours to strip.
 */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith('TTA_') && !name.startsWith('FORCE_COLOR')) env[name] = value
  }
  return {...env, NO_COLOR: '1'}
}

describe('tta config on malformed input', () => {
  beforeAll(() => {
    // e2e tests never skip silently: a missing build is a failure with a hint.
    expect(existsSync(join(ROOT, 'dist', 'commands', 'config.js')), 'run `npm run build` first').toBe(true)
  })

  it('every case points at a line that exists in a file it has, and the corpus covers compose files and tta.config.yaml', () => {
    expect(cases.flatMap(expectationProblems)).toEqual([])
    expect(new Set(cases.map((c) => c.workspaceConfig))).toEqual(new Set([true, false]))
  })

  for (const c of cases) {
    it(c.name, () => {
      const args = [RUN, 'config', '--workspace', c.dir, ...c.absFiles.flatMap((f) => ['-f', f])]
      const result = spawnSync(process.execPath, args, {cwd: c.dir, env: cleanEnv(), encoding: 'utf8', timeout: 30_000})
      expect(result.error).toBeUndefined()
      const stderr = result.stderr
      const shown = `exit ${String(result.status)}\nstderr:\n${stderr}\nstdout:\n${result.stdout}`
      expect(result.status, shown).toBe(2)
      expect(findsExpectedError(c, stderr), `expected ${expectedText(c)}\n${shown}`).toBe(true)
      // A user error is reported, not crashed on: no stack frames, no "Error:"/"TypeError:" lead-ins.
      expect(stderr, shown).not.toMatch(/^\s+at /m)
      expect(stderr, shown).not.toMatch(/^\W*[A-Za-z]*Error:/m)
    })
  }
})
