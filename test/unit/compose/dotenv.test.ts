import {describe, expect, it} from 'vitest'

import {parseDotenv} from '../../../src/compose/dotenv.js'
import {InputErrors} from '../../../src/errors.js'

describe('parseDotenv', () => {
  it('reads the forms Compose reads', () => {
    const text = [
      '# comment',
      'export EXP=exported',
      'PLAIN=plain value # trailing comment',
      "SQ='single $PLAIN \\n'",
      'DQ="double $PLAIN \\n tab\\t q\\" end"',
      'INTERP=${PLAIN}-x',
      'DEF=${NOPE:-fallback}',
      'EMPTY=',
      'EMPTY2=""',
      '  SPACES =  around  ',
      'HASH=a#b',
      'QHASH="a # b" # c',
      'MULTI="line1',
      'line2"',
      'RAW=`back`',
      'COLON: yaml style',
      'ESC="x\\\\y\\$z\\a"',
      "SQESC='it\\'s'",
      'G="q" # trailing',
    ].join('\n')
    expect(parseDotenv(text, '/x/.env')).toEqual({
      EXP: 'exported',
      PLAIN: 'plain value',
      SQ: 'single $PLAIN \\n',
      DQ: 'double plain value \n tab\t q" end',
      INTERP: 'plain value-x',
      DEF: 'fallback',
      EMPTY: '',
      EMPTY2: '',
      SPACES: 'around',
      HASH: 'a#b',
      QHASH: 'a # b',
      MULTI: 'line1\nline2',
      RAW: '`back`',
      COLON: 'yaml style',
      ESC: 'x\\y$z\x07',
      SQESC: "it's",
      G: 'q',
    })
  })

  it('uses the lookup for ${VAR} and bare keys; lookupWins lets the environment override', () => {
    const lookup = (n: string): string | undefined => ({HOME: '/root', BARE: 'fromenv', V: 'env'})[n]
    expect(parseDotenv('A=${HOME}/x\nBARE\nMISSING\nV=file', 'f', {lookup})).toEqual({A: '/root/x', BARE: 'fromenv', V: 'file'})
    expect(parseDotenv('V=file', 'f', {lookup, lookupWins: true})).toEqual({V: 'env'})
  })

  it('reports errors with the line', () => {
    const err = (text: string): string => {
      try {
        parseDotenv(text, '/w/.env')
      } catch (e) {
        return (e as InputErrors).errors[0]?.message ?? ''
      }
      return 'no error'
    }
    expect(err("A=1\nB='it''s'\nC=3")).toBe("/w/.env:2:7: unexpected character \"'\" in variable name")
    expect(err('A=1\nbad key=1')).toBe('/w/.env:2:4: key cannot contain a space')
    expect(err('A="open\nB=1')).toBe('/w/.env:1:3: unterminated quoted value for A')
    expect(err('A=${X:?must be set}')).toBe('/w/.env:1:3: required variable X is missing a value: must be set')
  })
})
