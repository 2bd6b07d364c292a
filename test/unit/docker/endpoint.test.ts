import {mkdirSync, mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {inspect} from 'node:util'
import {describe, expect, it} from 'vitest'

import {apiAtLeast, connectEngine} from '../../../src/docker/client.js'
import {engineTransport} from '../../../src/docker/transport.js'
import {contextDigest, resolveEndpoint} from '../../../src/docker/endpoint.js'

function home(): string {
  return mkdtempSync(join(tmpdir(), 'tta-home-'))
}

function writeContext(dir: string, name: string, host: string): void {
  const meta = join(dir, '.docker', 'contexts', 'meta', contextDigest(name))
  mkdirSync(meta, {recursive: true})
  writeFileSync(join(meta, 'meta.json'), JSON.stringify({Name: name, Endpoints: {docker: {Host: host, SkipTLSVerify: false}}}))
}

describe('resolveEndpoint', () => {
  it('uses DOCKER_HOST first', () => {
    expect(resolveEndpoint({DOCKER_HOST: 'tcp://10.0.0.1:2375'}, home())).toEqual({host: 'tcp://10.0.0.1:2375', source: 'DOCKER_HOST', tls: undefined})
  })
  it('uses DOCKER_CONTEXT, then the current context from config.json', () => {
    const dir = home()
    writeContext(dir, 'remote', 'ssh://deploy@example.test')
    writeContext(dir, 'other', 'tcp://127.0.0.1:2376')
    mkdirSync(join(dir, '.docker'), {recursive: true})
    writeFileSync(join(dir, '.docker', 'config.json'), JSON.stringify({currentContext: 'other'}))
    expect(resolveEndpoint({DOCKER_CONTEXT: 'remote'}, dir)).toMatchObject({host: 'ssh://deploy@example.test', source: 'DOCKER_CONTEXT', context: 'remote'})
    expect(resolveEndpoint({}, dir)).toMatchObject({host: 'tcp://127.0.0.1:2376', source: 'current context', context: 'other'})
  })
  it('falls back to the default socket', () => {
    expect(resolveEndpoint({}, home())).toEqual({host: 'unix:///var/run/docker.sock', source: 'default'})
  })
  it('fails with exit code 3 for an unknown context', () => {
    expect(() => resolveEndpoint({DOCKER_CONTEXT: 'ghost'}, home())).toThrow(expect.objectContaining({exitCode: 3}))
  })
})

describe('engineTransport', () => {
  it('connects each scheme through one keep-alive agent (TLS material on the agent; ssh:// over ssh channels)', () => {
    type Agent = {options?: {keepAlive?: boolean; ca?: string}; createConnection?: unknown}
    const unix = engineTransport({host: 'unix:///run/d.sock', source: 'default'})
    expect(unix.target).toEqual({socketPath: '/run/d.sock'})
    expect((unix.agent as unknown as Agent).options?.keepAlive).toBe(true)
    expect(engineTransport({host: 'tcp://h:2375', source: 'DOCKER_HOST'})).toMatchObject({target: {host: 'h', port: 2375}, secure: false})
    const tls = engineTransport({host: 'tcp://h:2376', source: 'DOCKER_HOST', tls: {verify: true, ca: 'CA'}})
    expect(tls.secure).toBe(true)
    expect((tls.agent as unknown as Agent).options?.ca).toBe('CA')
    // ssh:// goes through tta's own transport: plain HTTP over an agent whose sockets are ssh channels.
    const ssh = engineTransport({host: 'ssh://me@h:2222', source: 'DOCKER_HOST'}, {HOME: '/nonexistent'})
    expect(ssh).toMatchObject({target: {host: 'h', port: 2222}, secure: false})
    expect(typeof (ssh.agent as unknown as Agent).createConnection).toBe('function')
    expect(() => engineTransport({host: 'ftp://h', source: 'DOCKER_HOST'})).toThrow(/unsupported/)
  })
  it('the agent prints as one short line (an inspect of a request\'s options must not walk its sockets)', () => {
    const {agent} = engineTransport({host: 'unix:///run/d.sock', source: 'default'})
    expect(inspect(agent, {showHidden: true, depth: null})).toBe('[engine agent unix:///run/d.sock]')
  })
  it('compares API versions numerically', () => {
    expect(apiAtLeast('1.41', '1.44')).toBe(false)
    expect(apiAtLeast('1.44', '1.44')).toBe(true)
    expect(apiAtLeast('1.100', '1.44')).toBe(true)
  })
})

describe('connectEngine', () => {
  it('fails fast with exit code 3 and a fix when nothing listens', async () => {
    const t0 = Date.now()
    await expect(connectEngine({DOCKER_HOST: 'unix:///nonexistent/docker.sock'})).rejects.toMatchObject({exitCode: 3, hint: expect.stringContaining('start the Docker engine')})
    expect(Date.now() - t0).toBeLessThan(2500)
  })
})
