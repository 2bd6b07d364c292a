import {afterEach, describe, expect, it} from 'vitest'

import {ExitCode, TtaError} from '../../../src/errors.js'
import {renderFailure} from '../../../src/ui/output.js'

const saved = {DEBUG: process.env.DEBUG, TTA_DEBUG: process.env.TTA_DEBUG}
afterEach(() => {
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name]
    else process.env[name] = value
  }
})

describe('renderFailure', () => {
  it('points failures that may come from the engine at --debug', () => {
    delete process.env.DEBUG
    delete process.env.TTA_DEBUG
    const engine = renderFailure(new TtaError('cannot reach the Docker engine', ExitCode.engineUnreachable, 'start it'))
    expect(engine.exitCode).toBe(3)
    expect(engine.text).toMatch(/cannot reach the Docker engine\n.*start it\n.*--debug/)
    expect(renderFailure(new TtaError('redis failed', ExitCode.failed)).text).toContain('--debug')
  })

  it('does not for bad input or Ctrl-C: the message says all', () => {
    delete process.env.TTA_DEBUG
    expect(renderFailure(new TtaError('unknown flag --x', ExitCode.badInput)).text).not.toContain('--debug')
    expect(renderFailure(new TtaError('interrupted', ExitCode.interrupted)).text).not.toContain('--debug')
    const parse = renderFailure(Object.assign(new Error('Nonexistent flag: --x'), {oclif: {exit: 2}}))
    expect(parse).toEqual({text: expect.stringContaining('Nonexistent flag: --x'), exitCode: 2})
  })

  it('shows an unexpected error without its stack, unless debugging', () => {
    delete process.env.TTA_DEBUG
    const plain = renderFailure(new TypeError('x is undefined'))
    expect(plain.exitCode).toBe(1)
    expect(plain.text).toContain('unexpected error: x is undefined')
    expect(plain.text).not.toMatch(/^\s+at /m)
    process.env.TTA_DEBUG = '1'
    expect(renderFailure(new TypeError('x is undefined')).text).toMatch(/^\s+at /m)
  })
})

describe('renderFailure on an engine that went away mid-command', () => {
  it('says so with exit 3 instead of "unexpected error"', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED /var/run/docker.sock'), {code: 'ECONNREFUSED', syscall: 'connect'})
    const {text, exitCode} = renderFailure(refused)
    expect(exitCode).toBe(3)
    expect(text).toContain('the Docker engine stopped answering (connection refused)')
    expect(text).not.toContain('unexpected error')
  })
})
