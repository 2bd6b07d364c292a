import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {deployImageRef, isLoopbackRegistry, registryAuth, splitImage} from '../../../src/deploy/registry.js'

describe('deployImageRef', () => {
  it('re-homes an image in the registry with the version as tag', () => {
    expect(deployImageRef('reg.example.com:5000', 'tta/admin-api:dev', 'v2')).toBe('reg.example.com:5000/tta/admin-api:v2')
    expect(deployImageRef('reg.example.com/team', 'old.registry:443/tta/admin-api:dev@sha256:abc', 'v2')).toBe('reg.example.com/team/tta/admin-api:v2')
    expect(deployImageRef('127.0.0.1:5000', 'tta-admin-api', '1.0')).toBe('127.0.0.1:5000/tta-admin-api:1.0')
  })
  it('keeps the image’s own registry without one', () => {
    expect(deployImageRef(undefined, 'localhost:5000/tta/api:dev', 'v1')).toBe('localhost:5000/tta/api:v1')
    expect(deployImageRef(undefined, 'tta/api:dev', 'v1')).toBe('tta/api:v1')
  })
  it('tells a registry host from a repository path like Docker does', () => {
    expect(splitImage('library/redis:7')).toEqual({path: 'library/redis'})
    expect(splitImage('localhost/x/y')).toEqual({domain: 'localhost', path: 'x/y'})
    expect(splitImage('a.b/x:1')).toEqual({domain: 'a.b', path: 'x'})
  })
})

describe('registries', () => {
  it('treats loopback registries as the engine does (plain HTTP)', () => {
    expect(isLoopbackRegistry('127.0.0.1:5000')).toBe(true)
    expect(isLoopbackRegistry('localhost:5000')).toBe(true)
    expect(isLoopbackRegistry('reg.example.com:5000')).toBe(false)
  })
  it('reads docker login credentials from the config file, else sends an empty auth', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tta-dockercfg-'))
    writeFileSync(join(dir, 'config.json'), JSON.stringify({auths: {'reg.example.com:5000': {auth: Buffer.from('deployer:s3cret:x').toString('base64')}}}))
    expect(await registryAuth('reg.example.com:5000', {DOCKER_CONFIG: dir})).toEqual({username: 'deployer', password: 's3cret:x', serveraddress: 'reg.example.com:5000'})
    expect(await registryAuth('other:5000', {DOCKER_CONFIG: dir})).toEqual({username: '', password: '', serveraddress: 'other:5000'})
    expect(await registryAuth('other:5000', {DOCKER_CONFIG: join(dir, 'missing')})).toEqual({username: '', password: '', serveraddress: 'other:5000'})
  })
})
