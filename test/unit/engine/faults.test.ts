// Fault handling that needs no engine: how engine failures are classified and worded, crash-loop
// detection in waitReady, a stale-endpoint network in clean, a full disk under a backup.
import type {EnginePort} from '../../../src/docker/port.js'
import {describe, expect, it} from 'vitest'

import {noSpaceError} from '../../../src/backup/backup.js'
import {asEngineLost, connectionReason, EngineLostError, isActiveEndpointsError, isConnectionError, staleEndpointsError} from '../../../src/engine/engine-errors.js'
import {CRASH_LOOP_RESTARTS, crashLoopReason, NotReadyError, RUNNING_SETTLE_MS, waitReady} from '../../../src/engine/readiness.js'
import {clean, type CleanItem} from '../../../src/engine/stop.js'
import {ExitCode, TtaError} from '../../../src/errors.js'
import type {EngineConnection} from '../../../src/docker/client.js'
import {svc} from './fixtures.js'

const sysError = (code: string, syscall: string, message = `${syscall} ${code}`): Error => Object.assign(new Error(message), {code, syscall})

describe('isConnectionError', () => {
  it('is true for a broken connection to the engine', () => {
    expect(isConnectionError(sysError('ECONNREFUSED', 'connect', 'connect ECONNREFUSED /tmp/x/docker.sock'))).toBe(true)
    expect(isConnectionError(sysError('ENOENT', 'connect', 'connect ENOENT /var/run/docker.sock'))).toBe(true)
    expect(isConnectionError(Object.assign(new Error('socket hang up'), {code: 'ECONNRESET'}))).toBe(true)
    expect(isConnectionError(sysError('EPIPE', 'write'))).toBe(true)
  })

  it('is false for the engine answering with an error, a missing file, or a non-error', () => {
    expect(isConnectionError(Object.assign(new Error('(HTTP code 404) no such container'), {statusCode: 404}))).toBe(false)
    expect(isConnectionError(Object.assign(new Error('(HTTP code 500) server error - connect ECONNREFUSED'), {statusCode: 500}))).toBe(false)
    expect(isConnectionError(sysError('ENOENT', 'open', "ENOENT: no such file or directory, open 'Dockerfile'"))).toBe(false)
    expect(isConnectionError(new Error('exited with code 1'))).toBe(false)
    expect(isConnectionError('ECONNREFUSED')).toBe(false)
  })

  it('says what happened in a few words', () => {
    expect(connectionReason(sysError('ECONNREFUSED', 'connect'))).toBe('connection refused')
    expect(connectionReason(sysError('ENOENT', 'connect'))).toBe('its socket is gone')
    expect(connectionReason(Object.assign(new Error('socket hang up'), {code: 'ECONNRESET'}))).toBe('connection closed')
  })
})

describe('asEngineLost', () => {
  const dockerPinging = (ok: boolean): Pick<EnginePort, 'system'> => ({system: {ping: () => (ok ? Promise.resolve() : Promise.reject(sysError('ECONNREFUSED', 'connect')))}}) as unknown as Pick<EnginePort, 'system'>
  const refused = sysError('ECONNREFUSED', 'connect', 'connect ECONNREFUSED /tmp/pd/docker.sock')

  it('turns a connection error into EngineLostError when the engine no longer answers', async () => {
    const lost = await asEngineLost(dockerPinging(false), 'unix:///tmp/pd/docker.sock', refused)
    expect(lost).toBeInstanceOf(EngineLostError)
    expect((lost as Error).message).toBe('the Docker engine at unix:///tmp/pd/docker.sock stopped answering (connection refused)')
  })

  it('keeps the error when the engine still answers, or when it is no connection error', async () => {
    expect(await asEngineLost(dockerPinging(true), 'unix:///x', refused)).toBe(refused)
    const other = new Error('exited with code 1')
    expect(await asEngineLost(dockerPinging(false), 'unix:///x', other)).toBe(other)
  })
})

describe('stale network endpoints (engine 20.10)', () => {
  it('recognises the engine error and names the network and the fix', () => {
    expect(isActiveEndpointsError(new Error('(HTTP code 403) unexpected - error while removing network: network p_default id 3f2a has active endpoints'))).toBe(true)
    expect(isActiveEndpointsError(new Error('(HTTP code 404) no such network'))).toBe(false)
    const error = staleEndpointsError(['p_default'])
    expect(error.exitCode).toBe(ExitCode.failed)
    expect(error.message).toBe(
      'network p_default could not be removed: the engine says "has active endpoints" although no container is attached ' +
        '(a stale endpoint: a known Docker engine 20.10 bug after many parallel removals); everything else was removed',
    )
    expect(error.hint).toMatch(/run the command again in a moment; if it keeps failing, restart the Docker engine/)
    expect(staleEndpointsError(['p_a', 'p_b']).message).toMatch(/^networks p_a, p_b could not be removed/)
  })

  it('clean removes everything else, then fails with that message instead of the raw engine error', async () => {
    const removed: string[] = []
    const labels = {'com.docker.compose.project': 'p'}
    const engine = {
      containers: {inspect: async () => ({Config: {Labels: labels}}), remove: async (id: string) => void removed.push(id)},
      networks: {
        inspect: async () => ({Labels: labels, Containers: {}}),
        disconnect: async () => undefined,
        remove: async (id: string) => {
          if (id === 'net-stale') throw Object.assign(new Error('(HTTP code 403) unexpected - error while removing network: network p_stale id abc has active endpoints'), {statusCode: 403})
          removed.push(id)
        },
      },
      volumes: {inspect: async () => ({Labels: labels}), remove: async (id: string) => void removed.push(id)},
    } as unknown as EnginePort
    const items: CleanItem[] = [
      {kind: 'container', id: 'c1', name: 'p-a-1'},
      {kind: 'network', id: 'net-stale', name: 'p_stale'},
      {kind: 'network', id: 'net-ok', name: 'p_ok'},
      {kind: 'volume', id: 'p_data', name: 'p_data'},
    ]
    const conn = {engine} as unknown as EngineConnection
    const failure = await clean(conn, 'p', items, () => undefined).catch((error: unknown) => error)
    expect(failure).toBeInstanceOf(TtaError)
    expect((failure as TtaError).message).toMatch(/^network p_stale could not be removed: the engine says "has active endpoints"/)
    expect(removed.sort()).toEqual(['c1', 'net-ok', 'p_data'])
  })
})

describe('noSpaceError (a full backup disk)', () => {
  it('names the directory, says no space left, and that nothing is listed', () => {
    const error = noSpaceError(Object.assign(new Error('ENOSPC: no space left on device, write'), {code: 'ENOSPC'}), '/mnt/small', '20261122T010000Z')
    expect(error?.exitCode).toBe(ExitCode.failed)
    expect(error?.message).toBe('no space left on device in the backup directory /mnt/small: the unfinished backup 20261122T010000Z was removed; nothing is listed and no data changed')
    expect(error?.hint).toMatch(/free space on that disk, or pass --dir/)
  })

  it('also catches a wrapped message and a quota, and nothing else', () => {
    expect(noSpaceError(new Error('pg_dump to postgres.tta.pgdump: ENOSPC: no space left on device, write'), '/b')?.message).toMatch(/^no space left on device in the backup directory \/b: no backup was started/)
    expect(noSpaceError(Object.assign(new Error('EDQUOT: disk quota exceeded, write'), {code: 'EDQUOT'}), '/b')?.message).toMatch(/^disk quota exceeded in/)
    expect(noSpaceError(new Error('EACCES: permission denied'), '/b')).toBeUndefined()
  })
})

describe('waitReady and a crash-looping container', () => {
  interface FakeState {
    Status: string
    ExitCode: number
    StartedAt: string
    RestartCount: number
  }
  let inspects = 0
  /** A container whose inspect() walks through `states`, then stays on the last one. */
  const fake = (states: FakeState[]) => {
    let i = 0
    inspects = 0
    const engine = {
      containers: {
        inspect: async () => {
          inspects++
          const s = states[Math.min(i++, states.length - 1)] as FakeState
          return {RestartCount: s.RestartCount, State: {Status: s.Status, ExitCode: s.ExitCode, StartedAt: s.StartedAt}, NetworkSettings: {Networks: {}}}
        },
      },
    } as unknown as Pick<EnginePort, 'containers' | 'exec'>
    return {engine, id: 'c1'}
  }
  const at = (ms: number): string => new Date(Date.now() - ms).toISOString()
  const service = svc('crasher', {restart: 'always'})

  it(`fails after ${CRASH_LOOP_RESTARTS} restarts, naming the exit code and the restart count, long before the deadline`, async () => {
    const container = fake([
      {Status: 'running', ExitCode: 0, StartedAt: at(0), RestartCount: 0},
      {Status: 'restarting', ExitCode: 1, StartedAt: at(0), RestartCount: 1},
      {Status: 'running', ExitCode: 1, StartedAt: at(0), RestartCount: 1},
      {Status: 'restarting', ExitCode: 1, StartedAt: at(0), RestartCount: 2},
      {Status: 'restarting', ExitCode: 1, StartedAt: at(0), RestartCount: 3},
    ])
    const t0 = Date.now()
    const error = await waitReady(container.engine, container.id, service, {kind: 'running'}, {deadline: Date.now() + 60_000, intervalMs: 5, restartsBefore: 0}).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(NotReadyError)
    expect((error as NotReadyError).reason).toBe(crashLoopReason(3, 1))
    expect((error as NotReadyError).reason).toBe('crash-looping: exits with code 1 and was restarted 3 times by its restart policy')
    expect((error as NotReadyError).state).toBe('restarting')
    expect(Date.now() - t0).toBeLessThan(1_000)
  })

  it('counts only restarts during this wait for a kept container (its earlier restarts are history)', async () => {
    const container = fake([{Status: 'running', ExitCode: 0, StartedAt: at(60_000), RestartCount: 7}])
    expect(await waitReady(container.engine, container.id, service, {kind: 'running'}, {deadline: Date.now() + 5_000, intervalMs: 5})).toBe('running')
  })

  it(`a container that just started is ready by "running" only after ${RUNNING_SETTLE_MS} ms up`, async () => {
    const container = fake([{Status: 'running', ExitCode: 0, StartedAt: at(0), RestartCount: 0}])
    const t0 = Date.now()
    expect(await waitReady(container.engine, container.id, svc('plain'), {kind: 'running'}, {deadline: Date.now() + 5_000, intervalMs: 20, restartsBefore: 0})).toBe('running')
    expect(Date.now() - t0).toBeGreaterThanOrEqual(RUNNING_SETTLE_MS - 20)
    // Without a restart policy a crash would leave it exited: one more look after settling, not one per interval.
    expect(inspects).toBe(2)
  })

  it('one the caller just started (startedAt) is looked at once, when its settle time since the start is over', async () => {
    const container = fake([{Status: 'running', ExitCode: 0, StartedAt: at(0), RestartCount: 0}])
    const startedAt = Date.now() - 200
    expect(await waitReady(container.engine, container.id, svc('plain'), {kind: 'running'}, {deadline: Date.now() + 5_000, intervalMs: 20, restartsBefore: 0, startedAt})).toBe('running')
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(RUNNING_SETTLE_MS - 5)
    expect(inspects).toBe(1)
  })

  it('one the caller just started that exits within its settle time fails as exited, seen in that one look', async () => {
    const container = fake([{Status: 'exited', ExitCode: 3, StartedAt: at(0), RestartCount: 0}])
    const error = await waitReady(container.engine, container.id, svc('plain'), {kind: 'running'}, {deadline: Date.now() + 5_000, intervalMs: 20, restartsBefore: 0, startedAt: Date.now()}).catch((e: unknown) => e)
    expect((error as NotReadyError).reason).toBe('exited with code 3')
    expect(inspects).toBe(1)
  })

  it('a running container kept from an earlier run, without a restart policy, is ready at once (warm tta dev)', async () => {
    const container = fake([{Status: 'running', ExitCode: 0, StartedAt: at(1_000), RestartCount: 0}])
    const t0 = Date.now()
    expect(await waitReady(container.engine, container.id, svc('plain'), {kind: 'running'}, {deadline: Date.now() + 5_000, intervalMs: 20})).toBe('running')
    expect(inspects).toBe(1)
    expect(Date.now() - t0).toBeLessThan(RUNNING_SETTLE_MS)
  })

  it('names the code it last exited with when the crash loop is seen while it runs again', async () => {
    const container = fake([
      {Status: 'restarting', ExitCode: 3, StartedAt: at(0), RestartCount: 1},
      {Status: 'running', ExitCode: 0, StartedAt: at(0), RestartCount: 3},
    ])
    const error = await waitReady(container.engine, container.id, service, {kind: 'running'}, {deadline: Date.now() + 5_000, intervalMs: 5, restartsBefore: 0}).catch((e: unknown) => e)
    expect((error as NotReadyError).reason).toBe(crashLoopReason(3, 3))
  })

  it('one that exits at once, without a restart policy, fails as exited', async () => {
    const container = fake([
      {Status: 'running', ExitCode: 0, StartedAt: at(0), RestartCount: 0},
      {Status: 'exited', ExitCode: 2, StartedAt: at(0), RestartCount: 0},
    ])
    const error = await waitReady(container.engine, container.id, svc('plain'), {kind: 'running'}, {deadline: Date.now() + 5_000, intervalMs: 5, restartsBefore: 0}).catch((e: unknown) => e)
    expect((error as NotReadyError).reason).toBe('exited with code 2')
  })
})
