import {describe, expect, it} from 'vitest'

import {shellSplit} from '../../../src/compose/shell-split.js'
import {parsePortSpec, parseVolumeSpec} from '../../../src/compose/short-syntax.js'

describe('ports short syntax', () => {
  it('expands like Compose', () => {
    expect(parsePortSpec('127.0.0.1:6379:6379')).toEqual([
      {mode: 'ingress', host_ip: '127.0.0.1', target: 6379, published: '6379', protocol: 'tcp'},
    ])
    expect(parsePortSpec('8080-8081:80-81/udp')).toEqual([
      {mode: 'ingress', target: 80, published: '8080', protocol: 'udp'},
      {mode: 'ingress', target: 81, published: '8081', protocol: 'udp'},
    ])
    expect(parsePortSpec('3000')).toEqual([{mode: 'ingress', target: 3000, protocol: 'tcp'}])
    expect(parsePortSpec('[::1]:5000:5000')).toEqual([
      {mode: 'ingress', host_ip: '::1', target: 5000, published: '5000', protocol: 'tcp'},
    ])
    expect(parsePortSpec('127.0.0.1::81')).toEqual([{mode: 'ingress', host_ip: '127.0.0.1', target: 81, protocol: 'tcp'}])
    // One container port may take any port of a host range.
    expect(parsePortSpec('8000-8010:80')).toEqual([{mode: 'ingress', target: 80, published: '8000-8010', protocol: 'tcp'}])
    expect(parsePortSpec('82/UDP')).toEqual([{mode: 'ingress', target: 82, protocol: 'udp'}])
    expect(parsePortSpec('84-85')).toHaveLength(2)
  })

  it('rejects bad ports', () => {
    expect(() => parsePortSpec('70000:80')).toThrow('published port 70000 is out of range (1-65535)')
    expect(() => parsePortSpec('80:0')).toThrow('container port 0 is out of range')
    expect(() => parsePortSpec('8080-8081:80-82')).toThrow('have different lengths')
    expect(() => parsePortSpec('80/xyz')).toThrow('invalid protocol "xyz"')
    expect(() => parsePortSpec('::1:81:81')).toThrow(/invalid IP address/)
    expect(() => parsePortSpec('abc')).toThrow(/invalid container port/)
    expect(() => parsePortSpec('90-80')).toThrow(/end before start/)
  })
})

describe('volumes short syntax', () => {
  it('parses named, bind, anonymous and options', () => {
    expect(parseVolumeSpec('data:/data')).toEqual({type: 'volume', source: 'data', target: '/data', readOnly: false, nocopy: false})
    expect(parseVolumeSpec('./x:/y:ro,z')).toMatchObject({type: 'bind', source: './x', target: '/y', readOnly: true, selinux: 'z'})
    expect(parseVolumeSpec('~/h:/h')).toMatchObject({type: 'bind', source: '~/h'})
    expect(parseVolumeSpec('/anon')).toEqual({type: 'volume', target: '/anon', readOnly: false, nocopy: false})
    expect(parseVolumeSpec('data:/d:nocopy')).toMatchObject({nocopy: true})
    expect(parseVolumeSpec('/c:/d:rshared')).toMatchObject({type: 'bind', propagation: 'rshared'})
    // A single letter before ':' is a Windows drive, as Compose reads it.
    expect(parseVolumeSpec('v:/b')).toMatchObject({type: 'volume', target: 'v:/b'})
  })

  it('rejects bad volume specs', () => {
    expect(() => parseVolumeSpec('data:/b:ro:x')).toThrow(/too many colons/)
    expect(() => parseVolumeSpec('/x:/y:foo')).toThrow(/invalid volume option "foo"/)
    expect(() => parseVolumeSpec('')).toThrow(/empty/)
  })
})

describe('shellSplit (command strings)', () => {
  it('splits like go-shellwords', () => {
    expect(shellSplit('redis-server --appendonly "yes no" \'a b\'').words).toEqual(['redis-server', '--appendonly', 'yes no', 'a b'])
    expect(shellSplit('a"b c"d e').words).toEqual(['ab cd', 'e'])
    expect(shellSplit('a\\ b \'c\\d\' "e\\"f\\\\g\\h"').words).toEqual(['a b', 'c\\d', 'e"f\\gh'])
    expect(shellSplit('echo # comment').words).toEqual(['echo', '#', 'comment'])
    expect(shellSplit("a '' b").words).toEqual(['a', '', 'b'])
    expect(shellSplit('').words).toEqual([])
    expect(shellSplit('a;b|c')).toEqual({words: ['a'], dropped: ';b|c'})
  })

  it('rejects unterminated quotes and trailing backslashes', () => {
    expect(() => shellSplit("'open")).toThrow(/invalid command line string/)
    expect(() => shellSplit('a\\')).toThrow(/invalid command line string/)
  })
})
