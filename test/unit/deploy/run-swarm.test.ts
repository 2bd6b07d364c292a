// deploy's prepare + runDeploy on a swarm target, against the in-memory engine
// (test/support/fake-docker.ts, which models services, their tasks and swarm's own rollback by
// update_config.failure_action): update, a failed update rolled back, new services removed again,
// an interrupt, and the history kept as swarm configs.
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it, vi} from 'vitest'

import type {EngineConnection} from '../../../src/docker/client.js'
import {FakeDocker, type FakeBehaviour} from '../../support/fake-docker.js'

const state: {fake?: FakeDocker} = {}
vi.mock('../../../src/docker/client.js', async (original) => ({
  ...(await original<typeof import('../../../src/docker/client.js')>()),
  connectEngine: async (): Promise<EngineConnection> => {
    if (!state.fake) throw new Error('no fake engine')
    return {engine: state.fake.engine, endpoint: {host: 'tcp://manager.invalid:2375'} as EngineConnection['endpoint'], version: '26.1.5', apiVersion: '1.45'}
  },
}))

const {DeployFailedError, runDeploy} = await import('../../../src/deploy/deploy.js')
const {prepareDeploy} = await import('../../../src/deploy/prepare.js')
const {readSwarmRecords} = await import('../../../src/deploy/swarm.js')
const {readHistory} = await import('../../../src/deploy/history.js')
const {BackupStore} = await import('../../../src/backup/store.js')
type Workspace = import('../../../src/workspace/workspace.js').Workspace
type DeployEvent = import('../../../src/deploy/events.js').DeployEvent

const compose = (extra = '', apiUpdate = 'rollback'): string => `services:
  db:
    image: db:1
  api:
    image: api:\${TTA_VERSION}
    depends_on: [db]
    deploy: {replicas: 2, update_config: {failure_action: ${apiUpdate}}}
${extra}`

let root: string
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'tta-swarm-'))
})
afterEach(() => {
  rmSync(root, {recursive: true, force: true})
  state.fake = undefined
})

function workspace(backupFirst = false): Workspace {
  const position = {file: join(root, 'tta.config.yaml'), line: 1, column: 1}
  return {
    root,
    foundBy: 'flag',
    envFile: join(root, '.env'),
    config: {file: position.file, images: {}, composeFiles: [], deploy: {prod: {name: 'prod', type: 'swarm', files: [join(root, 'compose.yml')], projectName: 'stk', confirm: false, backupFirst, replicas: {}, timeout: 1, position, replicasPositions: {}}}},
  } as Workspace
}

function swarm(behave: Record<string, FakeBehaviour> = {}): FakeDocker {
  const fake = new FakeDocker((_service, image) => behave[image] ?? {})
  fake.swarm = {state: 'active', manager: true, nodes: 1}
  state.fake = fake
  return fake
}

async function deploy(version: string, file = compose(), signal?: AbortSignal, backupFirst = false) {
  writeFileSync(join(root, 'compose.yml'), file)
  const events: DeployEvent[] = []
  const emit = (e: DeployEvent): void => void events.push(e)
  const prepared = await prepareDeploy({workspace: workspace(backupFirst), cwd: root, env: 'prod', version, environment: {}}, emit)
  const result = await runDeploy(prepared, emit, signal).catch((error: unknown) => error)
  return {prepared, result, events, steps: events.filter((e) => e.type === 'step').map((e) => e.type === 'step' && `${e.step}:${e.status}`)}
}

/** What runs: service -> image of its running tasks. */
function runningImages(fake: FakeDocker): Record<string, string[]> {
  const out: Record<string, string[]> = {}
  for (const s of fake.services.values()) {
    const name = s.Spec.Name.replace(/^stk_/, '')
    out[name] = fake.tasks.filter((t) => t.ServiceID === s.ID && t.DesiredState === 'running' && t.Status.State === 'running').map((t) => String(t.Spec.ContainerSpec?.Image))
  }
  return out
}

describe('runDeploy, swarm target (fake engine)', () => {
  it('refuses an engine that is not a swarm manager before planning anything', async () => {
    const fake = swarm()
    fake.swarm = {state: 'inactive', manager: false, nodes: 1}
    writeFileSync(join(root, 'compose.yml'), compose())
    const error = await prepareDeploy({workspace: workspace(), cwd: root, env: 'prod', version: '1.0.0', environment: {}}, () => undefined).catch((e: unknown) => e)
    expect((error as Error).message).toBe('target prod: the engine at tcp://manager.invalid:2375 is not a swarm manager (swarm: inactive)')
    expect(fake.log).toEqual([])
  })

  it('creates the stack, then updates only what changed; the history is kept as swarm configs', async () => {
    const fake = swarm()
    const first = await deploy('1.0.0')
    expect(first.prepared.plan.services.map((s) => [s.service, s.change, s.replicas])).toEqual([['db', 'create', 1], ['api', 'create', 2]])
    expect(first.result).toMatchObject({record: {result: 'succeeded', activeVersion: '1.0.0', changed: ['api', 'db']}})
    expect(runningImages(fake)).toEqual({db: ['db:1'], api: ['api:1.0.0', 'api:1.0.0']})
    expect(fake.log).toEqual(expect.arrayContaining(['network create stk_default', 'service create db', 'service create api']))

    const second = await deploy('2.0.0')
    expect(second.prepared.plan.services.map((s) => [s.service, s.change])).toEqual([['db', 'unchanged'], ['api', 'update']])
    expect(second.prepared.plan.services[1]?.reason).toMatch(/^image api:1\.0\.0 → api:2\.0\.0, /)
    expect(second.result).toMatchObject({record: {result: 'succeeded', changed: ['api']}})
    // db keeps its tasks: only its deployment labels change.
    expect(fake.log.slice(-3)).toEqual(expect.arrayContaining(['service relabel db', 'service update api']))
    expect(runningImages(fake)).toEqual({db: ['db:1'], api: ['api:2.0.0', 'api:2.0.0']})
    expect((await readSwarmRecords(fake.engine, 'stk')).map((r) => [r.version, r.result]).sort()).toEqual([['1.0.0', 'succeeded'], ['2.0.0', 'succeeded']])
  })

  it('an update swarm rolls back by itself (failure_action rollback) ends rolled-back, with the task\'s error; a service new in that version is removed', async () => {
    const fake = swarm({'api:2.0.0': {exitCode: 2}})
    await deploy('1.0.0')
    const {result, steps} = await deploy('2.0.0', compose('  worker:\n    image: worker:1\n'))
    expect(result).toBeInstanceOf(DeployFailedError)
    const failed = result as InstanceType<typeof DeployFailedError>
    expect(failed.failures.map((f) => f.service)).toEqual(['api'])
    expect(failed.failures[0]?.reason).toBe('task: non-zero exit (2); started (rolled back by swarm: rollback completed)')
    expect(failed.rolledBackTo).toBe('1.0.0')
    expect(steps).toEqual(expect.arrayContaining(['rollout:failed', 'verify:skipped', 'rollback:done']))
    // worker came with 2.0.0 (created in the first level, beside db) and goes with it.
    expect(fake.log).toEqual(expect.arrayContaining(['service create worker', 'service remove worker']))
    expect(runningImages(fake)).toEqual({db: ['db:1'], api: ['api:1.0.0', 'api:1.0.0']})
    expect(readHistory(root).map((r) => [r.version, r.result, r.activeVersion])).toEqual([['1.0.0', 'succeeded', '1.0.0'], ['2.0.0', 'rolled-back', '1.0.0']])
  })

  it('an update swarm only pauses (failure_action pause) is rolled back by tta to the previous spec', async () => {
    const fake = swarm({'api:2.0.0': {exitCode: 1}})
    await deploy('1.0.0', compose('', 'pause'))
    const {result} = await deploy('2.0.0', compose('', 'pause'))
    const failed = result as InstanceType<typeof DeployFailedError>
    expect(failed).toBeInstanceOf(DeployFailedError)
    expect(failed.failures[0]?.reason).toMatch(/\(update paused by swarm: update paused due to failure/)
    expect(fake.log).toContain('service rollback api')
    // db was only relabelled for 2.0.0: its labels go back too, its tasks were never touched.
    expect(fake.log).toContain('service rollback db')
    expect(runningImages(fake)).toEqual({db: ['db:1'], api: ['api:1.0.0', 'api:1.0.0']})
    expect(failed.record).toMatchObject({result: 'rolled-back', activeVersion: '1.0.0'})
  })

  it('a failed first deployment is left for inspection (docker stack rm), recorded as failed', async () => {
    const fake = swarm({'api:1.0.0': {exitCode: 1}})
    const {result} = await deploy('1.0.0')
    const failed = result as InstanceType<typeof DeployFailedError>
    expect(failed.rollbackProblems).toEqual([expect.stringContaining('(docker stack rm stk removes them)')])
    expect(failed.failures[0]?.reason).toBe('task: non-zero exit (1); started')
    expect([...fake.services.values()].map((s) => s.Spec.Name).sort()).toEqual(['stk_api', 'stk_db'])
    expect(readHistory(root)[0]).toMatchObject({result: 'failed'})
  })

  it('a successful deployment removes a service the files no longer have', async () => {
    const fake = swarm()
    await deploy('1.0.0', compose('  worker:\n    image: worker:1\n'))
    const {prepared, result} = await deploy('1.0.1')
    expect(prepared.plan.services.find((s) => s.service === 'worker')).toMatchObject({change: 'remove'})
    expect(result).toMatchObject({record: {result: 'succeeded', removed: ['worker']}})
    expect(fake.log).toContain('service remove worker')
  })

  it('an interrupt before the first service is sent changes nothing and is recorded as interrupted', async () => {
    const fake = swarm()
    await deploy('1.0.0')
    const before = fake.log.length
    const controller = new AbortController()
    controller.abort()
    const {result} = await deploy('2.0.0', compose(), controller.signal)
    expect((result as Error).message).toBe('interrupted during the rollout: no service had been updated yet; api still runs the previous version; recorded as interrupted')
    expect(fake.log.slice(before).filter((l) => l.startsWith('service '))).toEqual([])
    expect(readHistory(root).at(-1)).toMatchObject({version: '2.0.0', result: 'interrupted'})
  })

  it('an update whose tasks do not run before the timeout is rolled back by tta', async () => {
    const fake = swarm({'api:2.0.0': {taskStartMs: 60_000}})
    await deploy('1.0.0')
    const {result} = await deploy('2.0.0')
    const failed = result as InstanceType<typeof DeployFailedError>
    expect(failed).toBeInstanceOf(DeployFailedError)
    expect(failed.failures[0]?.reason).toBe('not healthy before the timeout: starting')
    expect(fake.log).toContain('service rollback api')
    expect(runningImages(fake).api).toEqual(['api:1.0.0', 'api:1.0.0'])
    expect(failed.record).toMatchObject({result: 'rolled-back', activeVersion: '1.0.0'})
  })

  it('an interrupt while swarm converges leaves the update to swarm and records what was sent', async () => {
    const fake = swarm({'api:2.0.0': {taskStartMs: 60_000}})
    await deploy('1.0.0')
    const controller = new AbortController()
    setTimeout(() => controller.abort(), 300)
    const {result, events} = await deploy('2.0.0', compose(), controller.signal)
    expect((result as Error).message).toBe('interrupted during the rollout: api was told to update and swarm finishes (or rolls back) it by update_config; recorded as interrupted')
    expect(events).toContainEqual(expect.objectContaining({type: 'service', service: 'api', phase: 'interrupted'}))
    expect(fake.log).not.toContain('service rollback api')
    expect(readHistory(root).at(-1)).toMatchObject({version: '2.0.0', result: 'interrupted', changed: ['api']})
  })

  describe('backupFirst', () => {
    const withData = compose('volumes:\n  data: {}\n').replace('    image: db:1\n', '    image: db:1\n    volumes: [data:/var/lib/db]\n')

    it('backs up the datastore from its task\'s container on this node before the update', async () => {
      const fake = swarm()
      await deploy('1.0.0', withData)
      fake.archives.set('db:/var/lib/db', {'db/': '', 'db/rows': '42'})
      const {result, events} = await deploy('2.0.0', withData, undefined, true)
      expect(result).toMatchObject({record: {result: 'succeeded'}})
      const steps = events.filter((e) => e.type === 'step').map((e) => e.type === 'step' && `${e.step}:${e.status}`)
      expect(steps.indexOf('backup:done')).toBeLessThan(steps.indexOf('rollout:start'))
      const listed = new BackupStore(join(root, '.tta', 'backups')).list('stk')
      expect(listed.map((b) => [b.manifest?.reason, b.manifest?.services.db?.files.map((f) => f.mount)])).toEqual([['before deploying 2.0.0 to prod', ['/var/lib/db']]])
    })

    it('refuses when the datastore\'s task runs on another node: nothing is updated', async () => {
      const fake = swarm()
      fake.swarm.nodes = 2
      fake.placement.set('db', 'node2')
      await deploy('1.0.0', withData)
      const before = fake.log.length
      const {result} = await deploy('2.0.0', withData, undefined, true)
      expect((result as Error).message).toBe('backupFirst: db runs on node host2, not on the manager tta talks to; its data cannot be backed up from here')
      expect(fake.log.slice(before).filter((l) => l.startsWith('service '))).toEqual([])
    })

    it('nothing deployed yet: nothing to back up', async () => {
      swarm()
      const {result, events} = await deploy('1.0.0', withData, undefined, true)
      expect(result).toMatchObject({record: {result: 'succeeded'}})
      expect(events).toContainEqual(expect.objectContaining({type: 'step', step: 'backup', status: 'done', detail: 'nothing deployed yet: nothing to back up'}))
    })
  })
})
