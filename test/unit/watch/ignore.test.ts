import {describe, expect, it} from 'vitest'

import {globToRegExp, PatternSet} from '../../../src/watch/ignore.js'

describe('dockerignore-style patterns', () => {
  it('* stays within a segment, ** crosses them', () => {
    expect(globToRegExp('*.pyc').test('a.pyc')).toBe(true)
    expect(globToRegExp('*.pyc').test('pkg/a.pyc')).toBe(false)
    expect(globToRegExp('**/*.pyc').test('pkg/sub/a.pyc')).toBe(true)
    expect(globToRegExp('**/*.pyc').test('a.pyc')).toBe(true)
    expect(globToRegExp('a?c').test('abc')).toBe(true)
    expect(globToRegExp('a?c').test('a/c')).toBe(false)
    expect(globToRegExp('[ab].txt').test('b.txt')).toBe(true)
    expect(globToRegExp('[!ab].txt').test('b.txt')).toBe(false)
    expect(globToRegExp('a.b').test('axb')).toBe(false)
  })

  it('a directory pattern covers everything under it', () => {
    const set = new PatternSet(['node_modules/', '**/__pycache__/'])
    expect(set.matches('node_modules/x/y.js')).toBe(true)
    expect(set.matches('app/__pycache__/main.cpython-311.pyc')).toBe(true)
    expect(set.matches('app/main.py')).toBe(false)
  })

  it('the last matching pattern wins, and ! re-includes', () => {
    const set = new PatternSet(['*.md', '!README.md', '# a comment', ''])
    expect(set.matches('notes.md')).toBe(true)
    expect(set.matches('README.md')).toBe(false)
    expect(new PatternSet(['!README.md', '*.md']).matches('README.md')).toBe(true)
  })

  it('leading ./ and / are relative to the base', () => {
    const set = new PatternSet(['./build', '/dist'])
    expect(set.matches('build/out.js')).toBe(true)
    expect(set.matches('dist')).toBe(true)
    expect(set.matches('src/dist')).toBe(false)
    expect(new PatternSet([]).empty).toBe(true)
  })
})
