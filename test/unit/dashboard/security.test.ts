import {describe, expect, it} from 'vitest'

import {allowedHosts, cookieValue, newToken, refuseForeign, sameToken, tokenOf} from '../../../src/dashboard/security.js'

describe('dashboard security', () => {
  const hosts = allowedHosts(7373)

  it('answers only to its own loopback Host and port (DNS rebinding gets a foreign Host)', () => {
    expect(refuseForeign({method: 'GET', host: '127.0.0.1:7373', origin: undefined}, hosts)).toBeUndefined()
    expect(refuseForeign({method: 'GET', host: 'localhost:7373', origin: undefined}, hosts)).toBeUndefined()
    expect(refuseForeign({method: 'GET', host: 'LOCALHOST:7373', origin: undefined}, hosts)).toBeUndefined()
    expect(refuseForeign({method: 'GET', host: 'attacker.example:7373', origin: undefined}, hosts)).toMatch(/Host "attacker.example:7373"/)
    expect(refuseForeign({method: 'GET', host: '127.0.0.1:7374', origin: undefined}, hosts)).toMatch(/Host/)
    expect(refuseForeign({method: 'GET', host: undefined, origin: undefined}, hosts)).toMatch(/Host/)
  })

  it('refuses an Origin of another site, a null Origin, and https or other ports', () => {
    expect(refuseForeign({method: 'POST', host: '127.0.0.1:7373', origin: 'http://127.0.0.1:7373'}, hosts)).toBeUndefined()
    expect(refuseForeign({method: 'POST', host: '127.0.0.1:7373', origin: 'http://localhost:7373'}, hosts)).toBeUndefined()
    expect(refuseForeign({method: 'POST', host: '127.0.0.1:7373', origin: 'http://attacker.example'}, hosts)).toMatch(/Origin/)
    expect(refuseForeign({method: 'POST', host: '127.0.0.1:7373', origin: 'null'}, hosts)).toMatch(/Origin "null"/)
    expect(refuseForeign({method: 'POST', host: '127.0.0.1:7373', origin: 'https://127.0.0.1:7373'}, hosts)).toMatch(/Origin/)
    expect(refuseForeign({method: 'POST', host: '127.0.0.1:7373', origin: 'http://127.0.0.1:8000'}, hosts)).toMatch(/Origin/)
    expect(refuseForeign({method: 'POST', host: '127.0.0.1:7373', origin: 'not a url'}, hosts)).toMatch(/Origin/)
  })

  it('takes extra hosts (a forwarded port) when told', () => {
    const more = allowedHosts(7373, ['Box-7373.example.dev'])
    expect(refuseForeign({method: 'GET', host: 'box-7373.example.dev', origin: 'http://box-7373.example.dev'}, more)).toBeUndefined()
  })

  it('finds the token in a bearer header, X-TTA-Token, its cookie or ?token=, in that order', () => {
    const q = new URLSearchParams('token=fromquery')
    expect(tokenOf({authorization: 'Bearer abc'}, q, 'tta_ui_7373')).toEqual({token: 'abc', via: 'header'})
    expect(tokenOf({'x-tta-token': 'def'}, q, 'tta_ui_7373')).toEqual({token: 'def', via: 'header'})
    expect(tokenOf({cookie: 'a=b; tta_ui_7373=ghi'}, q, 'tta_ui_7373')).toEqual({token: 'ghi', via: 'cookie'})
    expect(tokenOf({cookie: 'tta_ui_8000=other'}, q, 'tta_ui_7373')).toEqual({token: 'fromquery', via: 'query'})
    expect(tokenOf({}, new URLSearchParams(), 'tta_ui_7373')).toEqual({})
    expect(cookieValue('x=1;  y = two%20words ', 'y')).toBe('two words')
  })

  it('makes long random tokens and compares them in constant time', () => {
    const a = newToken()
    expect(a).toMatch(/^[A-Za-z0-9_-]{32}$/)
    expect(newToken()).not.toBe(a)
    expect(sameToken(a, a)).toBe(true)
    expect(sameToken(a.slice(1), a)).toBe(false)
    expect(sameToken(undefined, a)).toBe(false)
    expect(sameToken('', a)).toBe(false)
  })
})
