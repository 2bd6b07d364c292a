// engine/up against an in-memory engine (test/support/fake-docker.ts): dependency order, readiness,
// and the failure and rollback branches that otherwise only e2e reaches.
import {describe, expect, it} from 'vitest'

import type {Service} from '../../../src/compose/model.js'
import type {EngineConnection} from '../../../src/docker/client.js'
import type {EngineEvent} from '../../../src/engine/events.js'
import {AbortedError} from '../../../src/engine/readiness.js'
import {ImageError, up, UpFailedError, UnknownServiceError} from '../../../src/engine/up.js'
import {FakeDocker, type FakeBehaviour} from '../../support/fake-docker.js'
import {loadedOf, projectOf, svc} from './fixtures.js'

const check = {test: ['CMD-SHELL', '/bin/check'], interval: '10s', timeout: '2s'}
const db = svc('db', {healthcheck: check})
const api = svc('api', {healthcheck: check, depends_on: {db: {condition: 'service_healthy', required: true}}})
const web = svc('web', {depends_on: {api: {condition: 'service_started', required: true}}})

function engine(behave: Record<string, FakeBehaviour> = {}, services: Service[] = [db, api, web]) {
  const fake = new FakeDocker((service) => behave[service] ?? {})
  for (const s of services) fake.images.set(s.image as string, {id: `sha256:${s.name}`})
  const conn: EngineConnection = {engine: fake.engine, endpoint: {host: 'tcp://fake.invalid:2375'} as EngineConnection['endpoint'], version: '26.1.5', apiVersion: '1.45'}
  const loaded = loadedOf({...projectOf(services), volumes: {}})
  const events: EngineEvent[] = []
  return {fake, conn, loaded, events, options: (extra = {}) => ({timeoutMs: 20_000, emit: (e: EngineEvent) => events.push(e), ...extra})}
}

const actions = (log: string[], service: string): string[] => log.filter((l) => l.endsWith(` ${service}`)).map((l) => l.split(' ')[0] as string)

describe('up (fake engine)', () => {
  it('starts in dependency order: a dependent starts only once its dependency passed its healthcheck; new containers are created up front', async () => {
    // db's check fails twice, then passes (back-off between execs); api's passes at once.
    const e = engine({db: {exec: (n) => (n < 2 ? 1 : 0)}})
    const result = await up(e.conn, e.loaded, e.options())
    expect(result.outcomes.map((o) => [o.service, o.readyBy])).toEqual(expect.arrayContaining([['db', 'healthcheck'], ['api', 'healthcheck'], ['web', 'running']]))
    const phase = (service: string, p: string): number => e.events.findIndex((ev) => ev.type === 'service' && ev.service === service && ev.phase === p)
    expect(phase('api', 'starting')).toBeGreaterThan(phase('db', 'ready'))
    expect(phase('web', 'starting')).toBeGreaterThan(phase('api', 'starting'))
    const log = e.fake.log
    // As Compose does: the dependents' creates happen while db starts, off the critical path.
    expect(log.indexOf('create api')).toBeLessThan(log.indexOf('start db'))
    expect(log.indexOf('create web')).toBeLessThan(log.indexOf('start db'))
    expect(log.indexOf('start api')).toBeGreaterThan(log.indexOf('start db'))
    expect(log).toContain('network create p_default')
    // Three execs for db (fail, fail, pass), not a 50 ms storm.
    expect([...e.fake.containers.values()].find((c) => c.labels['com.docker.compose.service'] === 'db')?.execs).toBe(3)
  })

  it('a second run with nothing changed creates, starts and removes nothing', async () => {
    const e = engine()
    await up(e.conn, e.loaded, e.options())
    const before = e.fake.log.length
    const again = await up(e.conn, e.loaded, e.options())
    expect(e.fake.log.slice(before)).toEqual([])
    expect(again.outcomes.every((o) => o.action === 'keep')).toBe(true)
  })

  it('takes the engine\'s own healthy verdict (an event) without exec\'ing a check that would fail', async () => {
    const e = engine({db: {health: 'healthy', exec: 1}}, [db])
    const result = await up(e.conn, e.loaded, e.options())
    expect(result.outcomes[0]?.readyBy).toBe('healthcheck')
  })

  it('a service that exits fails the run with its exit code and log tail; its dependents are skipped: never started, nothing left created', async () => {
    const e = engine({db: {exitCode: 3, afterMs: 20, exec: 1, logs: ['FATAL: data directory has wrong ownership']}})
    const error = await up(e.conn, e.loaded, e.options()).catch((err: unknown) => err)
    expect(error).toBeInstanceOf(UpFailedError)
    const failure = (error as UpFailedError).failures
    expect(failure.map((f) => f.service)).toEqual(['db'])
    expect(failure[0]?.reason).toBe('exited with code 3')
    expect(failure[0]?.logs).toEqual(['FATAL: data directory has wrong ownership'])
    // Created up front, removed again: no container of a skipped service is left behind.
    expect(actions(e.fake.log, 'api')).toEqual(['create', 'remove'])
    expect([...e.fake.containers.values()].map((c) => c.labels['com.docker.compose.service'])).toEqual(['db'])
    expect(e.events.filter((ev) => ev.type === 'service' && ev.phase === 'skipped').map((ev) => ev.type === 'service' && ev.service)).toEqual(['api', 'web'])
  })

  it('a healthcheck that never passes fails at the timeout, naming the check\'s last output', async () => {
    const e = engine({db: {exec: 1}}, [db])
    const error = await up(e.conn, e.loaded, e.options({timeoutMs: 1_200})).catch((err: unknown) => err)
    expect(error).toBeInstanceOf(UpFailedError)
    expect((error as UpFailedError).failures[0]?.reason).toMatch(/^not ready before the timeout: healthcheck did not pass/)
  })

  it('a start the engine refuses (port taken) names the port; nothing is left created-but-not-started', async () => {
    const e = engine({db: {startError: 'driver failed programming external connectivity: Bind for 127.0.0.1:5432 failed: port is already allocated'}}, [db])
    const error = await up(e.conn, e.loaded, e.options()).catch((err: unknown) => err)
    expect((error as UpFailedError).failures[0]?.reason).toBe('host port 127.0.0.1:5432 is already in use (another program or container listens there)')
    expect([...e.fake.containers.values()].filter((c) => c.status === 'created')).toEqual([])
    expect(actions(e.fake.log, 'db')).toEqual(['create', 'remove'])
  })

  it('a never-started container the engine holds a stale task for (killed mid-start) is made anew and started; any other start error stays an error', async () => {
    const behave: Record<string, FakeBehaviour> = {}
    const e = engine(behave, [db])
    await up(e.conn, e.loaded, e.options())
    const old = [...e.fake.containers.values()][0] as NonNullable<ReturnType<typeof e.fake.containers.get>>
    // As an engine killed between create and start leaves it: created, its task still in containerd.
    old.status = 'created'
    behave.db = {startError: (id) => (id === old.id ? `task ${old.id}: already exists` : undefined)}
    const result = await up(e.conn, e.loaded, e.options())
    expect(result.outcomes[0]?.readyBy).toBe('healthcheck')
    expect(e.fake.containers.has(old.id)).toBe(false)
    expect([...e.fake.containers.values()].map((c) => c.status)).toEqual(['running'])
    expect(e.events.some((ev) => ev.type === 'service' && ev.phase === 'recreating' && /stale task/.test(ev.detail ?? ''))).toBe(true)

    // An exited container that ran before keeps its writable layer: no recreate, the error is reported.
    const current = [...e.fake.containers.values()][0] as typeof old
    current.status = 'exited'
    behave.db = {startError: (id) => (id === current.id ? `task ${current.id}: already exists` : undefined)}
    const error = await up(e.conn, e.loaded, e.options()).catch((err: unknown) => err)
    expect(error).toBeInstanceOf(UpFailedError)
    expect(e.fake.containers.has(current.id)).toBe(true)
  })

  it('an image that is neither present nor pullable fails before anything is created', async () => {
    const e = engine({}, [db])
    e.fake.images.clear()
    const error = await up(e.conn, e.loaded, e.options()).catch((err: unknown) => err)
    expect(error).toBeInstanceOf(ImageError)
    expect((error as ImageError).phase).toBe('pull')
    expect(e.fake.log).toEqual([])
  })

  it('an interrupt while waiting ends with AbortedError and removes containers created but not started', async () => {
    const controller = new AbortController()
    const e = engine({db: {exec: 1}})
    setTimeout(() => controller.abort(), 300)
    const error = await up(e.conn, e.loaded, e.options({signal: controller.signal})).catch((err: unknown) => err)
    expect(error).toBeInstanceOf(AbortedError)
    expect([...e.fake.containers.values()].filter((c) => c.status === 'created')).toEqual([])
  })

  it('an unknown service name is refused before any engine write', async () => {
    const e = engine()
    const error = await up(e.conn, e.loaded, e.options({services: ['nope']})).catch((err: unknown) => err)
    expect(error).toBeInstanceOf(UnknownServiceError)
    expect((error as Error).message).toBe('no such service: nope (services: api, db, web)')
    expect(e.fake.log).toEqual([])
  })

  it('a service that names another container (network_mode: service:db) is created only once db exists', async () => {
    const side = svc('side', {network_mode: 'service:db', depends_on: {db: {condition: 'service_healthy', required: true}}})
    const e = engine({}, [db, side])
    await up(e.conn, e.loaded, e.options())
    expect(e.fake.log.indexOf('create side')).toBeGreaterThan(e.fake.log.indexOf('start db'))
  })

  it('a changed service is recreated with its dependents; the rest is kept', async () => {
    const e = engine()
    await up(e.conn, e.loaded, e.options())
    const before = e.fake.log.length
    const changed = loadedOf({...projectOf([db, {...api, environment: {NEW: '1'}}, web]), volumes: {}})
    await up(e.conn, changed, e.options())
    const after = e.fake.log.slice(before)
    expect(actions(after, 'db')).toEqual([])
    expect(actions(after, 'api')).toEqual(['remove', 'create', 'start'])
    expect(actions(after, 'web')).toEqual(['remove', 'create', 'start'])
  })
})
