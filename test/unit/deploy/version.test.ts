import {describe, expect, it} from 'vitest'

import {resolveVersion, versionProblem} from '../../../src/deploy/version.js'

const repo = {isRepo: true, dirty: [], commit: 'abc', describe: 'v1.2.0-3-gabc1234'}

describe('resolveVersion', () => {
  it('takes --version over git describe', () => {
    expect(resolveVersion('v9', repo)).toBe('v9')
  })
  it('defaults to git describe, dirty suffix included', () => {
    expect(resolveVersion(undefined, repo)).toBe('v1.2.0-3-gabc1234')
    expect(resolveVersion(undefined, {...repo, describe: 'v1-dirty', dirty: ['a']})).toBe('v1-dirty')
  })
  it('refuses with exit 2 and names --version when there is nothing to name the version after', () => {
    expect(() => resolveVersion(undefined, {isRepo: false, dirty: []})).toThrow(expect.objectContaining({exitCode: 2, hint: expect.stringContaining('--version')}))
    expect(() => resolveVersion(undefined, {isRepo: true, dirty: []})).toThrow(/git describe/)
  })
  it('refuses versions that are not image tags', () => {
    expect(() => resolveVersion('release/1', repo)).toThrow(expect.objectContaining({exitCode: 2, message: expect.stringContaining('not a valid image tag')}))
    expect(() => resolveVersion('-x', repo)).toThrow(/not a valid image tag/)
    expect(() => resolveVersion('x'.repeat(129), repo)).toThrow(/not a valid image tag/)
  })
})

describe('versionProblem', () => {
  it('accepts Docker tag grammar', () => {
    for (const tag of ['v1', '1.4.0', 'v1.2.0-3-gabc1234-dirty', '_x', 'A_b.c-d']) expect(versionProblem(tag)).toBeUndefined()
    for (const tag of ['', '.x', 'a b', 'a:b', 'a@b']) expect(versionProblem(tag)).toBeDefined()
  })
})
