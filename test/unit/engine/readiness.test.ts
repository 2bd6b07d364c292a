// Readiness that costs the starting services nothing: healthchecks recognised as host-side probes,
// ports reached where reach.ts says (never 127.0.0.1 for a remote engine), engine events instead of
// inspect polling, the real healthcheck exec'd once to confirm, back-off instead of a 50 ms storm.
import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {PassThrough} from 'node:stream'
import {afterEach, describe, expect, it} from 'vitest'

import type {EnginePort} from '../../../src/docker/port.js'
import {ContainerEvents, parseEvent} from '../../../src/engine/container-events.js'
import {AWAIT_ENGINE_CHECK_MS, ENGINE_CHECKS_OFTEN_MS, engineCheckEveryMs, EXEC_BACKOFF, nextEngineCheck, NotReadyError, nextGap, PROBE_BACKOFF, readinessFor, waitReady} from '../../../src/engine/readiness.js'
import {healthcheckProbe, recogniseHealthcheck} from '../../../src/probes/derive.js'
import {reachFor, remoteHost} from '../../../src/probes/reach.js'
import {svc} from './fixtures.js'

const shell = (cmd: string): string[] => ['CMD-SHELL', cmd]

describe('recogniseHealthcheck', () => {
  it('knows the bundled checks: redis-cli ping, wget/urllib GETs, pg_isready with compose-escaped variables', () => {
    expect(recogniseHealthcheck(shell('redis-cli -h 127.0.0.1 ping | grep -q PONG'))).toEqual({type: 'redis', port: 6379})
    expect(recogniseHealthcheck(shell('wget -q --spider http://127.0.0.1:7474/ || exit 1'))).toEqual({type: 'http', port: 7474, path: '/'})
    expect(recogniseHealthcheck(['CMD', 'python3', '-c', "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8001/health', timeout=4)"])).toEqual({type: 'http', port: 8001, path: '/health'})
    expect(recogniseHealthcheck(shell('pg_isready -h 127.0.0.1 -p 5433 -U "$POSTGRES_USER" -d "$POSTGRES_DB"'), {POSTGRES_USER: 'tta', POSTGRES_DB: 'app'})).toEqual({type: 'postgres', port: 5433, user: 'tta', database: 'app'})
  })
  it('knows TCP connects: nc -z and bash /dev/tcp, on a local address only', () => {
    expect(recogniseHealthcheck(shell('nc -z 127.0.0.1 9000'))).toEqual({type: 'tcp', port: 9000})
    expect(recogniseHealthcheck(shell('nc -w 1 -z localhost 9000'))).toEqual({type: 'tcp', port: 9000})
    expect(recogniseHealthcheck(['CMD', 'bash', '-c', '</dev/tcp/127.0.0.1/5672'])).toEqual({type: 'tcp', port: 5672})
    expect(recogniseHealthcheck(shell('nc -z db 5432'))).toBeUndefined()
  })
  it('leaves anything else to the exec: other hosts, unknown programs, NONE', () => {
    expect(recogniseHealthcheck(shell('redis-cli -h cache ping'))).toBeUndefined()
    expect(recogniseHealthcheck(shell('pg_isready -h db'))).toBeUndefined()
    expect(recogniseHealthcheck(shell('/healthcheck.sh'))).toBeUndefined()
    expect(recogniseHealthcheck(['NONE'])).toBeUndefined()
    expect(recogniseHealthcheck(undefined)).toBeUndefined()
  })
})

describe('reachFor: one answer for where a published port is probed', () => {
  it('a local engine: the bound address, 0.0.0.0 as 127.0.0.1', () => {
    const reach = reachFor('unix:///var/run/docker.sock', {})
    if (reach.via !== 'published') throw new Error('expected published')
    expect(reach.hostFor(undefined)).toBe('127.0.0.1')
    expect(reach.hostFor('0.0.0.0')).toBe('127.0.0.1')
    expect(reach.hostFor('127.0.0.1')).toBe('127.0.0.1')
    expect(reach.direct).toBeDefined()
  })
  it('a remote engine: its host for ports on every interface, no route at all for its loopback ones', () => {
    for (const host of ['tcp://10.0.0.7:2375', 'ssh://deploy@10.0.0.7', 'https://10.0.0.7:2376']) {
      const reach = reachFor(host, {})
      if (reach.via !== 'published') throw new Error('expected published')
      expect(reach.hostFor('0.0.0.0')).toBe('10.0.0.7')
      expect(reach.hostFor(undefined)).toBe('10.0.0.7')
      expect(reach.hostFor('127.0.0.1')).toBeUndefined()
      expect(reach.direct).toBeUndefined()
    }
    // An engine on our own loopback publishes here.
    expect(remoteHost('tcp://127.0.0.1:2375')).toBeUndefined()
  })
  it('TTA_PROBE_HOST wins; inside the engine\'s container the shared networks are used', () => {
    const fixed = reachFor('tcp://10.0.0.7:2375', {TTA_PROBE_HOST: 'docker.internal'})
    if (fixed.via !== 'published') throw new Error('expected published')
    expect(fixed.hostFor('127.0.0.1')).toBe('docker.internal')
    expect(reachFor('unix:///var/run/docker.sock', {}, new Set(['tta_default']))).toEqual({via: 'network', networks: new Set(['tta_default'])})
  })
})

describe('readinessFor with a reach', () => {
  const api = svc('api', {
    ports: [{mode: 'ingress', host_ip: '0.0.0.0', target: 8001, published: '18001', protocol: 'tcp'}],
    healthcheck: {test: ['CMD', 'python3', '-c', "urllib.request.urlopen('http://127.0.0.1:8001/health')"], timeout: '5s'},
  })
  it('gates the healthcheck with an HTTP probe at the published port, on the remote engine\'s host', () => {
    expect(readinessFor(api, undefined, reachFor('unix:///var/run/docker.sock', {}))).toMatchObject({kind: 'healthcheck', probe: {type: 'http', host: '127.0.0.1', port: 18001, path: '/health'}})
    expect(readinessFor(api, undefined, reachFor('tcp://10.1.2.3:2375', {}))).toMatchObject({kind: 'healthcheck', probe: {type: 'http', host: '10.1.2.3', port: 18001}})
  })
  it('a remote engine\'s loopback-bound port is never probed here: exec only, or running for a port-only service', () => {
    const loopback = {mode: 'ingress' as const, host_ip: '127.0.0.1', target: 80, published: '18080', protocol: 'tcp' as const}
    const remote = reachFor('tcp://10.1.2.3:2375', {})
    const hc = readinessFor({...api, ports: [{...loopback, target: 8001}]}, undefined, remote)
    expect(hc.kind).toBe('healthcheck')
    expect(hc.kind === 'healthcheck' && hc.probe).toBeFalsy()
    const portOnly = readinessFor(svc('web', {ports: [loopback]}), undefined, remote)
    expect(portOnly).toMatchObject({kind: 'running'})
    expect(portOnly.kind === 'running' && portOnly.note).toMatch(/no route from here/)
    expect(readinessFor(svc('web', {ports: [{...loopback, host_ip: '0.0.0.0'}]}), undefined, remote)).toMatchObject({kind: 'port', probe: {type: 'tcp', host: '10.1.2.3', port: 18080}})
  })
  it('redis and postgres checks become protocol probes with the service\'s credentials', () => {
    const facts = {service: 'redis', images: [], ports: [{target: 6379, published: 16379, hostIp: '127.0.0.1', protocol: 'tcp'}], healthcheck: {test: shell('redis-cli ping')}, environment: {REDISCLI_AUTH: 's3cret'}, command: []}
    expect(healthcheckProbe(facts, reachFor('unix:///x', {}), 1000)).toEqual({type: 'redis', host: '127.0.0.1', port: 16379, password: 's3cret', timeoutMs: 1000})
  })
})

describe('back-off', () => {
  it('probes ease from 50 ms to 250 ms; execs from 100 ms doubling to 1 s', () => {
    const gaps = (b: typeof PROBE_BACKOFF | typeof EXEC_BACKOFF, n: number): number[] => {
      const out: number[] = []
      let g: number | undefined
      for (let i = 0; i < n; i++) out.push((g = nextGap(g, b)))
      return out
    }
    expect(gaps(PROBE_BACKOFF, 6)).toEqual([50, 75, 113, 170, 250, 250])
    expect(gaps(EXEC_BACKOFF, 6)).toEqual([100, 200, 400, 800, 1000, 1000])
  })
})

describe('parseEvent', () => {
  it('reads the engine\'s container events (new and old field names), ignores the rest', () => {
    expect(parseEvent(JSON.stringify({Type: 'container', Action: 'health_status: healthy', Actor: {ID: 'abc', Attributes: {}}}))).toEqual({id: 'abc', action: 'health_status: healthy', exitCode: undefined})
    expect(parseEvent(JSON.stringify({Type: 'container', Action: 'die', Actor: {ID: 'abc', Attributes: {exitCode: '3'}}}))).toEqual({id: 'abc', action: 'die', exitCode: 3})
    expect(parseEvent(JSON.stringify({status: 'start', id: 'abc'}))).toEqual({id: 'abc', action: 'start', exitCode: undefined})
    expect(parseEvent(JSON.stringify({Type: 'network', Action: 'connect', Actor: {ID: 'n'}}))).toBeUndefined()
    expect(parseEvent('not json')).toBeUndefined()
  })
})

/** A container whose state comes from `state()`, and whose healthcheck exec exits with `execCode()`; counts both. */
function fakeContainer(id: string, state: () => {Status: string; ExitCode: number; Health?: {Status: string; FailingStreak?: number; Log?: Array<{Start: string; End: string; ExitCode: number; Output: string}>}}, execCode: () => number) {
  const counts = {inspects: 0, execs: 0}
  const codes = new Map<string, number>()
  const engine = {
    containers: {
      inspect: async () => {
        counts.inspects++
        return {RestartCount: 0, State: {StartedAt: new Date().toISOString(), ...state()}, NetworkSettings: {Networks: {}}}
      },
    },
    exec: {
      create: async () => {
        counts.execs++
        const execId = `exec-${counts.execs}`
        codes.set(execId, execCode())
        return execId
      },
      start: async () => {
        const stream = new PassThrough()
        stream.end()
        return stream
      },
      inspect: async (execId: string) => ({ExitCode: codes.get(execId) ?? null, Running: false}),
    },
  } as unknown as Pick<EnginePort, 'containers' | 'exec'>
  return {container: {engine, id}, counts}
}

/** Feeds one event line as the engine would send it. */
const emitEvent = (events: ContainerEvents, id: string, action: string, exitCode?: number): void =>
  events.feed(`${JSON.stringify({Type: 'container', Action: action, Actor: {ID: id, Attributes: exitCode === undefined ? {} : {exitCode: String(exitCode)}}})}\n`)

describe('waitReady by healthcheck: events, host probe, one confirming exec', () => {
  let server: Server | undefined
  afterEach(() => {
    server?.close()
    server = undefined
  })
  const listen = async (handler: (n: number) => number): Promise<number> => {
    let n = 0
    server = createServer((_, res) => {
      res.statusCode = handler(++n)
      res.end()
    })
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve))
    return (server?.address() as AddressInfo).port
  }
  const api = svc('api', {healthcheck: {test: shell('wget -q -O- http://127.0.0.1:8001/health'), timeout: '5s'}})

  it('is ready on the engine\'s health_status event, without a single exec', async () => {
    const events = new ContainerEvents()
    const {container, counts} = fakeContainer('c1', () => ({Status: 'running', ExitCode: 0}), () => 1)
    setTimeout(() => emitEvent(events, 'c1', 'health_status: healthy'), 150)
    const t0 = Date.now()
    expect(await waitReady(container.engine, container.id, api, {kind: 'healthcheck', test: shell('/check'), timeoutMs: 5000, probe: {type: 'tcp', host: '127.0.0.1', port: 1, timeoutMs: 200}}, {deadline: Date.now() + 10_000, events, restartsBefore: 0})).toBe('healthcheck')
    expect(Date.now() - t0).toBeLessThan(900)
    expect(counts.execs).toBe(0)
  })

  it('execs the real healthcheck only once the host probe answers, and only once', async () => {
    // 503 for the first 4 GETs, then 200: the service "starts" after a few probes.
    const port = await listen((n) => (n <= 4 ? 503 : 200))
    const {container, counts} = fakeContainer('c2', () => ({Status: 'running', ExitCode: 0}), () => 0)
    const readiness = {kind: 'healthcheck' as const, test: shell('wget …'), timeoutMs: 5000, probe: {type: 'http' as const, host: '127.0.0.1', port, path: '/health', timeoutMs: 500}}
    expect(await waitReady(container.engine, container.id, api, readiness, {deadline: Date.now() + 10_000, events: new ContainerEvents(), restartsBefore: 0})).toBe('healthcheck')
    expect(counts.execs).toBe(1)
  })

  it('keeps waiting when the probe answers but the healthcheck does not pass yet, then confirms', async () => {
    const port = await listen(() => 200)
    let code = 1
    setTimeout(() => (code = 0), 400)
    const {container, counts} = fakeContainer('c3', () => ({Status: 'running', ExitCode: 0}), () => code)
    const readiness = {kind: 'healthcheck' as const, test: shell('check'), timeoutMs: 5000, probe: {type: 'http' as const, host: '127.0.0.1', port, path: '/', timeoutMs: 500}}
    expect(await waitReady(container.engine, container.id, api, readiness, {deadline: Date.now() + 10_000, events: new ContainerEvents(), restartsBefore: 0})).toBe('healthcheck')
    // Backed off between execs (100, 200, 400 ms ...): a handful, not one every 50 ms.
    expect(counts.execs).toBeGreaterThanOrEqual(2)
    expect(counts.execs).toBeLessThanOrEqual(5)
  })

  it('without a host probe, execs with back-off: 1.6 s of a failing check is at most 6 execs', async () => {
    const {container, counts} = fakeContainer('c4', () => ({Status: 'running', ExitCode: 0}), () => 1)
    const error = await waitReady(container.engine, container.id, api, {kind: 'healthcheck', test: shell('check'), timeoutMs: 5000}, {deadline: Date.now() + 1_600, events: new ContainerEvents(), restartsBefore: 0}).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(NotReadyError)
    expect((error as NotReadyError).reason).toMatch(/healthcheck did not pass/)
    expect(counts.execs).toBeGreaterThanOrEqual(3)
    expect(counts.execs).toBeLessThanOrEqual(6)
  })

  it('fails at once on a die event, with the exit code, not at the deadline', async () => {
    const events = new ContainerEvents()
    let status = {Status: 'running', ExitCode: 0}
    const {container} = fakeContainer('c5', () => status, () => 1)
    setTimeout(() => {
      status = {Status: 'exited', ExitCode: 3}
      emitEvent(events, 'c5', 'die', 3)
    }, 200)
    const t0 = Date.now()
    const error = await waitReady(container.engine, container.id, api, {kind: 'healthcheck', test: shell('check'), timeoutMs: 5000, probe: {type: 'tcp', host: '127.0.0.1', port: 1, timeoutMs: 100}}, {deadline: Date.now() + 30_000, events, restartsBefore: 0}).catch((e: unknown) => e)
    expect((error as NotReadyError).reason).toBe('exited with code 3')
    expect(Date.now() - t0).toBeLessThan(900)
  })

  it('sees an event that came before the wait began (buffered per container)', async () => {
    const events = new ContainerEvents()
    emitEvent(events, 'c6', 'health_status: healthy')
    const {container, counts} = fakeContainer('c6', () => ({Status: 'running', ExitCode: 0}), () => 1)
    expect(await waitReady(container.engine, container.id, api, {kind: 'healthcheck', test: shell('check'), timeoutMs: 5000}, {deadline: Date.now() + 5_000, events, restartsBefore: 0})).toBe('healthcheck')
    expect(counts.execs).toBe(0)
  })

  it('a port-only service is ready when its address answers', async () => {
    const port = await listen(() => 200)
    const {container} = fakeContainer('c7', () => ({Status: 'running', ExitCode: 0}), () => 1)
    expect(await waitReady(container.engine, container.id, svc('web'), {kind: 'port', port, probe: {type: 'tcp', host: '127.0.0.1', port, timeoutMs: 500, direct: true}}, {deadline: Date.now() + 5_000, restartsBefore: 0})).toBe('port')
  })
})

describe('the engine\'s own checks: awaited when due within moments, instead of running the check twice', () => {
  it('knows when the engine checks next: every start_interval while starting (API 1.44+), else every interval', () => {
    const hc = {interval: '10s', start_period: '30s', start_interval: '1s'}
    expect(engineCheckEveryMs(hc, true)).toBe(1000)
    expect(engineCheckEveryMs(hc, false)).toBe(10_000)
    expect(engineCheckEveryMs({start_interval: '1s'}, true)).toBe(30_000)
    expect(nextEngineCheck(1000, 10_000, 10_900)).toBe(11_000)
    expect(nextEngineCheck(1000, 10_000, 11_000)).toBe(11_000)
    expect(nextEngineCheck(1000, 10_000, 11_001)).toBe(12_000)
    expect(nextEngineCheck(1000, 10_000, 10_000)).toBe(11_000)
    expect(nextEngineCheck(undefined, 10_000)).toBeUndefined()
    expect(nextEngineCheck(1000, undefined)).toBeUndefined()
    // The end of the engine's last check anchors the schedule (each check's run time shifts it)...
    expect(nextEngineCheck(1000, 10_000, 12_500, 12_300)).toBe(13_300)
    expect(nextEngineCheck(1000, undefined, 12_500, 11_300)).toBe(13_300)
    // ...unless this clock cannot have seen it (a remote engine's clock ahead or far behind).
    expect(nextEngineCheck(1000, 10_000, 12_500, 14_000)).toBe(13_000)
    expect(nextEngineCheck(1000, 10_000, 12_500, 5_000)).toBe(13_000)
  })

  const open = async (): Promise<{port: number; close: () => void}> => {
    const server = createServer((_, res) => res.end('ok'))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    return {port: (server.address() as AddressInfo).port, close: () => server.close()}
  }
  const api = svc('api')
  /** A healthcheck the engine runs every second while starting (start_interval), gated by an HTTP probe at `port`. */
  const checkedEverySecond = (port: number, timeoutMs = 5000) => ({kind: 'healthcheck' as const, test: shell('check'), timeoutMs, engineEveryMs: 1000, probe: {type: 'http' as const, host: '127.0.0.1', port, path: '/', timeoutMs: 500}})

  it(`the probe passes ${AWAIT_ENGINE_CHECK_MS - 100} ms before the engine's check: its healthy event is awaited, no exec`, async () => {
    const {port, close} = await open()
    const events = new ContainerEvents()
    events.following = true
    const startedAt = Date.now() - (1000 - (AWAIT_ENGINE_CHECK_MS - 100))
    const {container, counts} = fakeContainer('e1', () => ({Status: 'running', ExitCode: 0}), () => 0)
    setTimeout(() => emitEvent(events, 'e1', 'health_status: healthy'), AWAIT_ENGINE_CHECK_MS - 50)
    const readiness = checkedEverySecond(port)
    expect(await waitReady(container.engine, container.id, api, readiness, {deadline: Date.now() + 5_000, events, restartsBefore: 0, startedAt})).toBe('healthcheck')
    expect(counts.execs).toBe(0)
    close()
  })

  it('the engine\'s verdict does not come: tta runs the check itself shortly after', async () => {
    const {port, close} = await open()
    const events = new ContainerEvents()
    events.following = true
    const {container, counts} = fakeContainer('e2', () => ({Status: 'running', ExitCode: 0}), () => 0)
    const readiness = checkedEverySecond(port)
    expect(await waitReady(container.engine, container.id, api, readiness, {deadline: Date.now() + 5_000, events, restartsBefore: 0, startedAt: Date.now() - 900})).toBe('healthcheck')
    expect(counts.execs).toBe(1)
    close()
  })

  it(`start_interval of ${ENGINE_CHECKS_OFTEN_MS} ms: the engine's check ${ENGINE_CHECKS_OFTEN_MS - 100} ms away is still awaited, no exec`, async () => {
    const {port, close} = await open()
    const events = new ContainerEvents()
    events.following = true
    // The engine's last check ended just now (failed: the service was not up yet).
    const now = new Date()
    const {container, counts} = fakeContainer('e4', () => ({Status: 'running', ExitCode: 0, Health: {Status: 'starting', FailingStreak: 1, Log: [{Start: new Date(now.getTime() - 50).toISOString(), End: now.toISOString(), ExitCode: 1, Output: 'refused'}]}}), () => 0)
    setTimeout(() => emitEvent(events, 'e4', 'health_status: healthy'), ENGINE_CHECKS_OFTEN_MS - 50)
    const readiness = {kind: 'healthcheck' as const, test: shell('check'), timeoutMs: 5000, engineEveryMs: ENGINE_CHECKS_OFTEN_MS, probe: {type: 'http' as const, host: '127.0.0.1', port, path: '/', timeoutMs: 500}}
    expect(await waitReady(container.engine, container.id, api, readiness, {deadline: Date.now() + 5_000, events, restartsBefore: 0, startedAt: Date.now() - 3_100})).toBe('healthcheck')
    expect(counts.execs).toBe(0)
    close()
  })

  /** Feeds an exec event as the engine sends it for its healthcheck runs. */
  const emitExec = (events: ContainerEvents, id: string, action: 'exec_start: /bin/sh -c check' | 'exec_die', execId: string, exitCode?: number): void =>
    events.feed(`${JSON.stringify({Type: 'container', Action: action, Actor: {ID: id, Attributes: {execID: execId, ...(exitCode === undefined ? {} : {exitCode: String(exitCode)})}}})}\n`)

  it('the engine\'s run of the check is slow (a busy machine): tta waits for its verdict past the grace, no second run', async () => {
    const {port, close} = await open()
    const events = new ContainerEvents()
    events.following = true
    const {container, counts} = fakeContainer('e6', () => ({Status: 'running', ExitCode: 0}), () => 0)
    // Due ~100 ms after the wait begins; it runs 1.5 s, far past due + the grace.
    setTimeout(() => emitExec(events, 'e6', 'exec_start: /bin/sh -c check', 'hc1'), 100)
    setTimeout(() => {
      emitExec(events, 'e6', 'exec_die', 'hc1', 0)
      emitEvent(events, 'e6', 'health_status: healthy')
    }, 1_600)
    const readiness = checkedEverySecond(port)
    expect(await waitReady(container.engine, container.id, api, readiness, {deadline: Date.now() + 10_000, events, restartsBefore: 0, startedAt: Date.now() - 900})).toBe('healthcheck')
    expect(counts.execs).toBe(0)
    close()
  })

  it('the engine\'s run fails (it began before the service answered): its next run is awaited, as Compose would, no exec', async () => {
    const {port, close} = await open()
    const events = new ContainerEvents()
    events.following = true
    const {container, counts} = fakeContainer('e7', () => ({Status: 'running', ExitCode: 0}), () => 0)
    setTimeout(() => emitExec(events, 'e7', 'exec_start: /bin/sh -c check', 'hc1'), 100)
    setTimeout(() => emitExec(events, 'e7', 'exec_die', 'hc1', 1), 700)
    // The next run, a start_interval after the failed one ended.
    setTimeout(() => emitExec(events, 'e7', 'exec_start: /bin/sh -c check', 'hc2'), 1_700)
    setTimeout(() => {
      emitExec(events, 'e7', 'exec_die', 'hc2', 0)
      emitEvent(events, 'e7', 'health_status: healthy')
    }, 1_900)
    const readiness = checkedEverySecond(port)
    const t0 = Date.now()
    expect(await waitReady(container.engine, container.id, api, readiness, {deadline: Date.now() + 10_000, events, restartsBefore: 0, startedAt: Date.now() - 900})).toBe('healthcheck')
    expect(counts.execs).toBe(0)
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1_850)
    close()
  })

  it('the engine\'s last run ended moments ago (its exec_die, before inspect shows it): its next run is expected a start_interval after that one, not on the stale schedule', async () => {
    let answering = false
    const server = createServer((_, res) => {
      res.statusCode = answering ? 200 : 503
      res.end()
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const port = (server.address() as AddressInfo).port
    const events = new ContainerEvents()
    events.following = true
    // Inspect's health log still shows the run before: by it the next run is due at ~600 ms.
    const t0 = Date.now()
    const stale = new Date(t0 - 1_400)
    const {container, counts} = fakeContainer('e11', () => ({Status: 'running', ExitCode: 0, Health: {Status: 'starting', Log: [{Start: new Date(stale.getTime() - 50).toISOString(), End: stale.toISOString(), ExitCode: 1, Output: 'refused'}]}}), () => 0)
    // A run from 50 to 300 ms fails; the service answers from 400 ms; the next run, a second after
    // the failed one ended, passes.
    setTimeout(() => emitExec(events, 'e11', 'exec_start: /bin/sh -c check', 'hc1'), 50)
    setTimeout(() => emitExec(events, 'e11', 'exec_die', 'hc1', 1), 300)
    setTimeout(() => (answering = true), 400)
    setTimeout(() => emitExec(events, 'e11', 'exec_start: /bin/sh -c check', 'hc2'), 1_300)
    setTimeout(() => {
      emitExec(events, 'e11', 'exec_die', 'hc2', 0)
      emitEvent(events, 'e11', 'health_status: healthy')
    }, 1_500)
    const readiness = checkedEverySecond(port)
    expect(await waitReady(container.engine, container.id, api, readiness, {deadline: t0 + 10_000, events, restartsBefore: 0, startedAt: t0 - 5_000})).toBe('healthcheck')
    expect(counts.execs).toBe(0)
    server.close()
  })

  it('someone\'s `docker exec` of another command is no reason to wait: tta runs the check shortly after the engine\'s verdict was due', async () => {
    const {port, close} = await open()
    const events = new ContainerEvents()
    events.following = true
    const {container, counts} = fakeContainer('e9', () => ({Status: 'running', ExitCode: 0}), () => 0)
    setTimeout(() => events.feed(`${JSON.stringify({Type: 'container', Action: 'exec_start: bash', Actor: {ID: 'e9', Attributes: {execID: 'user1'}}})}\n`), 100)
    const readiness = checkedEverySecond(port)
    const t0 = Date.now()
    expect(await waitReady(container.engine, container.id, api, readiness, {deadline: Date.now() + 5_000, events, restartsBefore: 0, startedAt: Date.now() - 900})).toBe('healthcheck')
    expect(counts.execs).toBe(1)
    expect(Date.now() - t0).toBeLessThan(1_500)
    close()
  })

  it('close to the deadline tta runs the check itself, though the engine\'s run is under way: its own run must still fit', async () => {
    const {port, close} = await open()
    const events = new ContainerEvents()
    events.following = true
    const {container, counts} = fakeContainer('e10', () => ({Status: 'running', ExitCode: 0}), () => 0)
    setTimeout(() => emitExec(events, 'e10', 'exec_start: /bin/sh -c check', 'hc1'), 100)
    const readiness = checkedEverySecond(port, 2_000)
    const t0 = Date.now()
    expect(await waitReady(container.engine, container.id, api, readiness, {deadline: Date.now() + 2_800, events, restartsBefore: 0, startedAt: Date.now() - 900})).toBe('healthcheck')
    expect(counts.execs).toBe(1)
    expect(Date.now() - t0).toBeLessThan(1_500)
    close()
  })

  it('an exec_die never comes (a missed event): tta runs the check itself once the run has outlived the check\'s timeout', async () => {
    const {port, close} = await open()
    const events = new ContainerEvents()
    events.following = true
    const {container, counts} = fakeContainer('e8', () => ({Status: 'running', ExitCode: 0}), () => 0)
    setTimeout(() => emitExec(events, 'e8', 'exec_start: /bin/sh -c check', 'hc1'), 100)
    const readiness = checkedEverySecond(port, 800)
    const t0 = Date.now()
    expect(await waitReady(container.engine, container.id, api, readiness, {deadline: Date.now() + 5_000, events, restartsBefore: 0, startedAt: Date.now() - 900})).toBe('healthcheck')
    expect(counts.execs).toBe(1)
    expect(Date.now() - t0).toBeLessThan(2_500)
    close()
  })

  it('an engine that checks every 2 s, next in 900 ms: tta confirms at once', async () => {
    const {port, close} = await open()
    const events = new ContainerEvents()
    events.following = true
    const {container, counts} = fakeContainer('e5', () => ({Status: 'running', ExitCode: 0}), () => 0)
    const readiness = {kind: 'healthcheck' as const, test: shell('check'), timeoutMs: 5000, engineEveryMs: 2_000, probe: {type: 'http' as const, host: '127.0.0.1', port, path: '/', timeoutMs: 500}}
    const t0 = Date.now()
    expect(await waitReady(container.engine, container.id, api, readiness, {deadline: Date.now() + 5_000, events, restartsBefore: 0, startedAt: Date.now() - 1_100})).toBe('healthcheck')
    expect(counts.execs).toBe(1)
    expect(Date.now() - t0).toBeLessThan(800)
    close()
  })

  it('the engine\'s check is far off: tta confirms at once', async () => {
    const {port, close} = await open()
    const events = new ContainerEvents()
    events.following = true
    const {container, counts} = fakeContainer('e3', () => ({Status: 'running', ExitCode: 0}), () => 0)
    const readiness = {kind: 'healthcheck' as const, test: shell('check'), timeoutMs: 5000, engineEveryMs: 10_000, probe: {type: 'http' as const, host: '127.0.0.1', port, path: '/', timeoutMs: 500}}
    const t0 = Date.now()
    expect(await waitReady(container.engine, container.id, api, readiness, {deadline: Date.now() + 5_000, events, restartsBefore: 0, startedAt: Date.now()})).toBe('healthcheck')
    expect(counts.execs).toBe(1)
    expect(Date.now() - t0).toBeLessThan(1_000)
    close()
  })
})
