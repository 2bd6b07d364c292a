import {describe, expect, it} from 'vitest'

import {interpolate, InterpolationError} from '../../../src/compose/interpolate.js'

const env: Record<string, string> = {A: 'aa', E: '', HOME: '/root'}
const run = (s: string, unset: string[] = []): string =>
  interpolate(s, {lookup: (n) => env[n], onUnset: (n) => unset.push(n)})

describe('interpolate', () => {
  it('substitutes $VAR and ${VAR}', () => {
    expect(run('$A')).toBe('aa')
    expect(run('x${A}y')).toBe('xaay')
    expect(run('${HOME}/x')).toBe('/root/x')
    // $Ax is the variable "Ax", not "A" followed by x.
    expect(run('$Ax')).toBe('')
    expect(run('${A}_x')).toBe('aa_x')
  })

  it('gives an empty string and reports unset variables without a default', () => {
    const unset: string[] = []
    expect(run('[${NOPE}]', unset)).toBe('[]')
    expect(run('$ALSO_NOPE', unset)).toBe('')
    expect(unset).toEqual(['NOPE', 'ALSO_NOPE'])
  })

  it('handles :- and - defaults (empty counts as unset only with the colon)', () => {
    expect(run('${N:-def}')).toBe('def')
    expect(run('${E:-x}')).toBe('x')
    expect(run('${E-x}')).toBe('')
    expect(run('${N-x}')).toBe('x')
    expect(run('${A:-}')).toBe('aa')
    expect(run('${N:-a b}')).toBe('a b')
  })

  it('handles :+ and + alternatives', () => {
    expect(run('${HOME:+alt}')).toBe('alt')
    expect(run('${E:+y}')).toBe('')
    expect(run('${E+y}')).toBe('y')
    expect(run('${N+y}')).toBe('')
  })

  it('fails :? and ? with the message', () => {
    expect(() => run('${N:?need N set}')).toThrow(new InterpolationError('required variable N is missing a value: need N set'))
    expect(() => run('${E:?empty}')).toThrow('required variable E is missing a value: empty')
    expect(run('${E?x}')).toBe('')
    expect(() => run('${N?}')).toThrow('required variable N is missing a value')
    expect(run('${A:?x}')).toBe('aa')
  })

  it('nests defaults and balances braces', () => {
    expect(run('${N:-${B:-x}-y}')).toBe('x-y')
    expect(run('${A:-${B:-x}}')).toBe('aa')
    expect(run('${N:-{x}}')).toBe('{x}')
    expect(run('${N:-}}')).toBe('}')
    expect(run('${N:-$A}')).toBe('aa')
  })

  it('treats $$ as a literal $ and keeps a lone $', () => {
    expect(run('$$')).toBe('$')
    expect(run('$${ESC}')).toBe('${ESC}')
    expect(run('$$$A')).toBe('$aa')
    expect(run('a $ b')).toBe('a $ b')
    expect(run('$1')).toBe('$1')
    expect(run('${N:-$$}')).toBe('$')
  })

  it('rejects malformed references like Compose', () => {
    for (const bad of ['${}', '${A.B}', '${A', '${A:=x}', '${1A}']) {
      expect(() => run(bad), bad).toThrow(/invalid interpolation format/)
    }
  })
})

describe('onDefault', () => {
  it('reports the variables that fell back to their default, with the value used', () => {
    const defaults: Record<string, string> = {}
    const env: Record<string, string> = {SET_PORT: '7000', EMPTY_PORT: ''}
    const out = interpolate('${SET_PORT:-1}:${EMPTY_PORT:-2}:${UNSET_PORT-3}:${X:-${Y:-4}}', {lookup: (n) => env[n], onDefault: (name, value) => (defaults[name] = value)})
    expect(out).toBe('7000:2:3:4')
    expect(defaults).toEqual({EMPTY_PORT: '2', UNSET_PORT: '3', X: '4', Y: '4'})
  })
})
