import {describe, expect, it} from 'vitest'

import {normalizeDuration, parseBytes} from '../../../src/compose/units.js'

describe('durations', () => {
  it('prints Go duration strings like Compose', () => {
    const cases: Record<string, string> = {
      '90s': '1m30s',
      '0.5s': '500ms',
      '1.5h': '1h30m0s',
      '1h0m': '1h0m0s',
      '1m0.5s': '1m0.5s',
      '1h2m3.5s': '1h2m3.5s',
      '1500us': '1.5ms',
      '2µs': '2µs',
      '1.000000001s': '1.000000001s',
      '10s': '10s',
      '1m': '1m0s',
      '0': '0s',
      '0s': '0s',
      '-1s': '-1s',
      '250ns': '250ns',
    }
    for (const [input, want] of Object.entries(cases)) expect(normalizeDuration(input), input).toBe(want)
  })

  it('rejects what Go rejects', () => {
    for (const bad of ['1d', '10', '1w2d', 'abc', '1x', '1h 2m', '1.5', '', 's', '.s']) {
      expect(() => normalizeDuration(bad), bad).toThrow(/invalid duration/)
    }
  })
})

describe('sizes', () => {
  it('parses go-units RAM sizes (binary multiples)', () => {
    const cases: Array<[string | number, bigint]> = [
      ['512M', 536870912n],
      ['512m', 536870912n],
      ['1.5g', 1610612736n],
      ['1gb', 1073741824n],
      ['1GiB', 1073741824n],
      ['1 g', 1073741824n],
      ['100', 100n],
      [100, 100n],
      ['1kb', 1024n],
      ['1b', 1n],
      ['64m', 67108864n],
    ]
    for (const [input, want] of cases) expect(parseBytes(input), String(input)).toBe(want)
  })

  it('rejects invalid sizes', () => {
    for (const bad of ['1x', '1.2.3m', '-1m', '', 'm', '12q']) expect(() => parseBytes(bad), bad).toThrow(/invalid size/)
    expect(() => parseBytes(1.5)).toThrow(/invalid size/)
  })
})
