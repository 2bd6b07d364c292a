import {describe, expect, it} from 'vitest'

import {loadProject} from '../../src/compose/load.js'
import {ExitCode, InputError, InputErrors, TtaError} from '../../src/errors.js'
import {loadWorkspaceConfig} from '../../src/workspace/config.js'
import {expectationProblems, expectedText, findsExpectedError, loadCases, type InvalidCase} from '../fixtures/compose-invalid/cases.js'

const cases = loadCases()

/** Runs `fn`, which must throw; returns what it threw. */
function thrownBy(fn: () => unknown): unknown {
  try {
    fn()
  } catch (error) {
    return error
  }
  throw new Error('expected an error, but nothing was thrown')
}

function messagesOf(error: unknown): string[] {
  if (error instanceof InputErrors) return error.errors.map((e) => e.message)
  if (error instanceof InputError) return [error.message]
  return []
}

function assertPointsAt(c: InvalidCase, error: unknown): void {
  const messages = messagesOf(error)
  expect(error, String(error)).toBeInstanceOf(TtaError)
  expect((error as TtaError).exitCode).toBe(ExitCode.badInput)
  expect(
    findsExpectedError(c, messages.join('\n')),
    `expected ${expectedText(c)}\ngot:\n${messages.join('\n') || String(error)}`,
  ).toBe(true)
}

describe('malformed-input corpus', () => {
  it('every case points at a line that exists in a file it has, and the corpus covers compose files and tta.config.yaml', () => {
    expect(cases.flatMap(expectationProblems)).toEqual([])
    expect(new Set(cases.map((c) => c.workspaceConfig))).toEqual(new Set([true, false]))
  })

  for (const c of cases.filter((k) => !k.workspaceConfig)) {
    it(`compose: ${c.name}`, () => {
      const error = thrownBy(() =>
        loadProject({
          files: c.absFiles,
          environment: {TTA_WORKSPACE: '/tmp/ws'},
          envFiles: c.envFile === undefined ? [] : [c.envFile],
        }),
      )
      // The loader reports everything it found at once, always as InputErrors.
      expect(error, String(error)).toBeInstanceOf(InputErrors)
      assertPointsAt(c, error)
    })
  }

  for (const c of cases.filter((k) => k.workspaceConfig)) {
    it(`tta.config.yaml: ${c.name}`, () => {
      const error = thrownBy(() => loadWorkspaceConfig(c.dir))
      // One problem may come as a single InputError, several as InputErrors.
      expect(error instanceof InputError || error instanceof InputErrors, String(error)).toBe(true)
      assertPointsAt(c, error)
    })
  }
})
