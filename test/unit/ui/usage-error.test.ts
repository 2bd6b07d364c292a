// oclif's parse errors and unknown commands, reworded to one line that names the flag or argument
// (the bad-input corpus checks the same through the built CLI).
import {describe, expect, it} from 'vitest'

import {explain} from '../../../src/hooks/command-not-found.js'
import {isParseErrorText, usageFromParseError} from '../../../src/ui/usage-error.js'
import {InputError, InputErrors, TtaError} from '../../../src/errors.js'
import {renderError} from '../../../src/ui/output.js'

const HELP = '\nSee more help with --help'

describe('usageFromParseError', () => {
  const cases: Array<[string, string]> = [
    [`Parsing --timeout \n\tExpected an integer greater than or equal to 1 but received: 0${HELP}`, '--timeout: expected an integer greater than or equal to 1 but received: 0'],
    [`Parsing --timeout \n\texpected seconds between 0 and 120, got "500"${HELP}`, '--timeout: expected seconds between 0 and 120, got "500"'],
    [`Nonexistent flag: --bogus${HELP}`, 'unknown flag --bogus'],
    [`Nonexistent flags: --a, --b${HELP}`, 'unknown flags --a, --b'],
    ['Flag --file expects a value', '--file expects a value'],
    [`Expected --mode=prod to be one of: dev, monitoring, full${HELP}`, '--mode: "prod" is not one of dev, monitoring, full'],
    [`Missing 1 required arg:\nenv  deploy target: a key of \`deploy:\` in tta.config.yaml (e.g. staging,\n     production)${HELP}`, 'missing required argument ENV'],
    [`Unexpected argument: redis${HELP}`, 'unexpected argument: redis'],
    [`The following error occurred:\n  \u001B[2m--verify=x cannot also be provided when using --list\u001B[22m${HELP}`, '--list cannot be combined with --verify'],
    [`The following errors occurred:\n  --history=true cannot also be provided when using --rollback\n  --rollback=true cannot also be provided when using --history${HELP}`, '--rollback cannot be combined with --history'],
  ]
  for (const [text, message] of cases) {
    it(message, () => {
      expect(isParseErrorText(text)).toBe(true)
      expect(usageFromParseError(text).message).toBe(message)
    })
  }

  it('leaves tta\'s own messages alone', () => {
    expect(isParseErrorText('no such service: nosuch')).toBe(false)
    expect(renderError(new TtaError('no such service: nosuch', 2))).toBe('✖ no such service: nosuch')
  })

  it('renders as one error line and one hint line', () => {
    const text = renderError(new TtaError(`Parsing --keep \n\tExpected an integer but received: abc${HELP}`, 2))
    expect(text.split('\n')).toEqual(['✖ --keep: expected an integer but received: abc', '  → see --help for the flags and arguments this command takes'])
  })

  it("points at the command's own help when it knows the command", () => {
    const text = renderError(new TtaError(`Nonexistent flag: --fix${HELP}`, 2), 'doctor')
    expect(text.split('\n')).toEqual(['✖ unknown flag --fix', '  → `tta doctor --help` lists its flags and arguments'])
  })

  it('renders a single input problem as one line, several as a list', () => {
    const one = new InputError('bad', {file: '/f.yml', line: 3, column: 5}, 'services.x')
    expect(renderError(new InputErrors([one]))).toBe('✖ /f.yml:3:5: services.x: bad')
    expect(renderError(new InputErrors([one, one])).split('\n')).toHaveLength(3)
  })
})

describe('unknown commands', () => {
  const ids = ['dev', 'clean', 'config', 'deploy', 'status', 'autocomplete:script']
  it('suggests the nearest command', () => {
    expect(explain('deploi:staging', [], ids).message).toBe('unknown command "deploi" (did you mean deploy?)')
    expect(explain('frobnicate', [], ids).message).toBe('unknown command "frobnicate"')
  })
  it('says when a command takes no arguments', () => {
    const error = explain('clean:redis', ['-y'], ids)
    expect(error.message).toBe('unexpected argument for tta clean: redis')
    expect(error.exitCode).toBe(2)
  })
  it('says when a flag comes before the command', () => {
    const error = explain('--workspace', ['/ws', 'status'], ids)
    expect(error.message).toBe('--workspace comes before the command')
    expect(error.hint).toBe('write the command first, then its flags: tta status --workspace /ws')
  })
})
