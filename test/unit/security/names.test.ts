// Security default: a project or service name that is not a valid name is refused (exit 2) before
// it reaches a label filter, a container name or a path. The CLI side (exit 2, nothing created)
// is in the bad-input corpus (test/fixtures/bad-input/cases.ts: *-project-name-*, *-invalid-service-name).
import {describe, expect, it} from 'vitest'

import {isValidProjectName, isValidServiceName, refuseInvalidServiceNames} from '../../../src/compose/project-name.js'
import {ExitCode, TtaError} from '../../../src/errors.js'
import {projectNameFor} from '../../../src/workspace/project.js'
import type {Workspace} from '../../../src/workspace/workspace.js'

const workspace = {root: '/ws', foundBy: 'flag', config: {images: {}, composeFiles: []}, envFile: '/ws/.env'} as Workspace

const HOSTILE = ['', 'Bad Name', 'UPPER', '-x', '_x', '../etc', 'a/b', 'a;rm -rf /', '$(id)', '`id`', 'a\nb', 'a b', 'tta*', 'é']

describe('project names', () => {
  it('accepts what Compose accepts', () => {
    for (const name of ['tta', 'tta-dev', 'tta_2', '0day']) expect(isValidProjectName(name), name).toBe(true)
  })
  it('refuses the rest, with exit 2', () => {
    for (const name of HOSTILE) {
      expect(isValidProjectName(name), name).toBe(false)
      let error: unknown
      try {
        projectNameFor({projectName: name, workspace})
      } catch (e) {
        error = e
      }
      expect(error, name).toBeInstanceOf(TtaError)
      expect((error as TtaError).exitCode).toBe(ExitCode.badInput)
    }
  })
})

describe('service names', () => {
  it('accepts what Compose accepts', () => {
    for (const name of ['redis', 'admin-api', 'Api_2', 'svc.v1']) expect(isValidServiceName(name), name).toBe(true)
    expect(() => refuseInvalidServiceNames(['redis', 'admin-api'])).not.toThrow()
  })
  it('refuses the rest, naming each, with exit 2', () => {
    for (const name of HOSTILE.filter((n) => n !== 'UPPER')) expect(isValidServiceName(name), name).toBe(false)
    let error: unknown
    try {
      refuseInvalidServiceNames(['redis', '../etc', 'a;b'])
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(TtaError)
    expect((error as TtaError).exitCode).toBe(ExitCode.badInput)
    expect((error as TtaError).message).toBe('invalid service names: "../etc", "a;b"')
  })
})
