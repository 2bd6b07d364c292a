import {mkdirSync, mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {inspect} from 'node:util'
import {describe, expect, it} from 'vitest'

import {apiAtLeast, connectEngine, dockerOptions} from '../../../src/docker/client.js'
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

describe('dockerOptions', () => {
  it('translates each scheme, with the connection from engineTransport (one keep-alive agent per client)', () => {
    type Options = {socketPath?: string; host?: string; port?: number; protocol?: string; ca?: string; agent?: {options?: {keepAlive?: boolean; ca?: string}; createConnection?: unknown}}
    const unix = dockerOptions({host: 'unix:///run/d.sock', source: 'default'}) as Options
    expect(unix).toMatchObject({socketPath: '/run/d.sock'})
    expect(unix.agent?.options?.keepAlive).toBe(true)
    expect(dockerOptions({host: 'tcp://h:2375', source: 'DOCKER_HOST'})).toMatchObject({host: 'h', port: 2375, protocol: 'http'})
    const tls = dockerOptions({host: 'tcp://h:2376', source: 'DOCKER_HOST', tls: {verify: true, ca: 'CA'}}) as Options
    expect(tls).toMatchObject({protocol: 'https', ca: 'CA'})
    // The TLS agent carries the material too: tta's own HTTP client uses the same agent.
    expect(tls.agent?.options?.ca).toBe('CA')
    // ssh:// goes through tta's own transport: plain HTTP over an agent whose sockets are ssh channels.
    const ssh = dockerOptions({host: 'ssh://me@h:2222', source: 'DOCKER_HOST'}, {HOME: '/nonexistent'}) as Options
    expect(ssh).toMatchObject({host: 'h', port: 2222, protocol: 'http'})
    expect(typeof ssh.agent?.createConnection).toBe('function')
    expect(() => dockerOptions({host: 'ftp://h', source: 'DOCKER_HOST'})).toThrow(/unsupported/)
  })
  it('the agent prints as one short line: docker-modem inspects every request\'s options at full depth', () => {
    const options = dockerOptions({host: 'unix:///run/d.sock', source: 'default'}) as {agent?: unknown}
    expect(inspect(options.agent, {showHidden: true, depth: null})).toBe('[engine agent unix:///run/d.sock]')
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
