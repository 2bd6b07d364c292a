// engine/ports: which host ports a run claims, the engine's words for a taken one, and who holds
// it (a container, found through the in-memory engine, or a process, found in a /proc tree built here).
import {mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {createServer, type Server} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'

import {findPortConflicts, findPortHolder, portFromEngineError, portsAreLocal, portsToClaim, processListening} from '../../../src/engine/ports.js'
import type {UpPlan} from '../../../src/engine/plan.js'
import {FakeDocker} from '../../support/fake-docker.js'
import {container, projectOf, svc} from './fixtures.js'

const tcp = (published: string, host_ip?: string) => ({mode: 'ingress' as const, target: 80, published, protocol: 'tcp' as const, host_ip})

describe('portsToClaim', () => {
  const project = projectOf([
    svc('new', {ports: [tcp('8001', '127.0.0.1'), {mode: 'ingress', target: 53, published: '5353', protocol: 'udp'}, {mode: 'ingress', target: 81, protocol: 'tcp'}]}),
    svc('kept', {ports: [tcp('8002')]}),
    svc('replaced', {ports: [tcp('8003')]}),
    svc('stopped', {ports: [tcp('8004')]}),
  ])
  const plan: UpPlan = {
    project: 'p',
    networks: [],
    volumes: [],
    levels: [['kept', 'new', 'replaced', 'stopped']],
    services: {
      new: {service: 'new', action: 'create', reason: 'new'},
      kept: {service: 'kept', action: 'keep', reason: '', current: container('kept')},
      replaced: {service: 'replaced', action: 'recreate', reason: 'changed', current: container('replaced')},
      stopped: {service: 'stopped', action: 'recreate', reason: 'changed', current: container('stopped', {state: 'exited'})},
    },
  } as unknown as UpPlan

  it('claims the published tcp ports of services about to start, naming the variable they came from; running ones already hold theirs', () => {
    expect(portsToClaim(project, plan, {TTA_API_PORT: '8001', OTHER: '8004'})).toEqual([
      {service: 'new', host: '127.0.0.1', port: 8001, variable: 'TTA_API_PORT'},
      {service: 'stopped', host: '0.0.0.0', port: 8004, variable: undefined},
    ])
  })
})

describe('port conflicts', () => {
  let server: Server | undefined
  afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())))

  it('reads the taken port out of both of the engine\'s messages', () => {
    expect(portFromEngineError('driver failed programming external connectivity: Bind for 127.0.0.1:5432 failed: port is already allocated')).toEqual({host: '127.0.0.1', port: 5432})
    expect(portFromEngineError('Error starting userland proxy: listen tcp4 0.0.0.0:8001: bind: address already in use')).toEqual({host: '0.0.0.0', port: 8001})
    expect(portFromEngineError('no such image')).toBeUndefined()
  })

  it('only a local unix engine, not seen from inside a container, publishes here', () => {
    expect(portsAreLocal({host: 'unix:///var/run/docker.sock'} as never, false)).toBe(true)
    expect(portsAreLocal({host: 'unix:///var/run/docker.sock'} as never, true)).toBe(false)
    expect(portsAreLocal({host: 'ssh://u@h'} as never, false)).toBe(false)
  })

  it('finds a port something listens on, and not a free one', async () => {
    server = createServer()
    const port = await new Promise<number>((resolve) => (server as Server).listen({host: '127.0.0.1', port: 0}, () => resolve(((server as Server).address() as {port: number}).port)))
    const claims = [{service: 'a', host: '127.0.0.1', port}]
    expect(await findPortConflicts(claims)).toEqual(claims)
    await new Promise<void>((resolve) => (server as Server).close(() => resolve()))
    server = undefined
    expect(await findPortConflicts(claims)).toEqual([])
  })

  it('names the container publishing a port, with its compose project', async () => {
    const fake = new FakeDocker()
    fake.images.set('x:1', {id: 'sha256:x'})
    const c = await fake.createContainer({name: 'q-web-1', Image: 'x:1', Labels: {'com.docker.compose.project': 'q'}, HostConfig: {PortBindings: {'80/tcp': [{HostIp: '127.0.0.1', HostPort: '18080'}]}}})
    await c.start()
    expect(await findPortHolder(fake.engine, 18080)).toBe('container q-web-1 (compose project q)')
  })
})

describe('processListening (a /proc tree)', () => {
  let proc: string
  afterEach(() => rmSync(proc, {recursive: true, force: true}))

  it('finds the process whose socket inode listens on the port; a port only connected to is not listening', () => {
    proc = mkdtempSync(join(tmpdir(), 'tta-proc-'))
    mkdirSync(join(proc, 'net'))
    const header = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n'
    // 0x1F90 = 8080 listening (0A), inode 4242; 0x1F91 = 8081 established (01).
    writeFileSync(join(proc, 'net/tcp'), header + '   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1\n   1: 0100007F:1F91 0100007F:9999 01 00000000:00000000 00:00000000 00000000     0        0 4343 1\n')
    for (const [pid, comm, inode] of [['12', 'nginx', '4242'], ['13', 'curl', '4343']] as const) {
      mkdirSync(join(proc, pid, 'fd'), {recursive: true})
      writeFileSync(join(proc, pid, 'comm'), `${comm}\n`)
      symlinkSync(`socket:[${inode}]`, join(proc, pid, 'fd', '3'))
      symlinkSync('/dev/null', join(proc, pid, 'fd', '0'))
    }
    expect(processListening(8080, proc)).toEqual({pid: 12, command: 'nginx'})
    expect(processListening(8081, proc)).toBeUndefined()
    expect(processListening(9000, proc)).toBeUndefined()
  })
})
