// deploy's prepare + runDeploy on a compose target, against the in-memory engine
// (test/support/fake-docker.ts): the plan, the rollout, and what a failed rollout leaves:
// the previous containers back, the history recording it.
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
    return {engine: state.fake.engine, endpoint: {host: 'tcp://target.invalid:2375'} as EngineConnection['endpoint'], version: '26.1.5', apiVersion: '1.45'}
  },
}))

const {DeployFailedError, deployHistory, runDeploy} = await import('../../../src/deploy/deploy.js')
const {findTarget, prepareDeploy} = await import('../../../src/deploy/prepare.js')
const {readComposeRecords} = await import('../../../src/deploy/compose-target.js')
const {HISTORY_FILE, readHistory} = await import('../../../src/deploy/history.js')
type Workspace = import('../../../src/workspace/workspace.js').Workspace
type DeployEvent = import('../../../src/deploy/events.js').DeployEvent

const COMPOSE = `services:
  db:
    image: db:1
    healthcheck: {test: ["CMD", "check"], interval: 10s}
  api:
    image: api:\${TTA_VERSION}
    healthcheck: {test: ["CMD", "check"], interval: 10s}
    depends_on: {db: {condition: service_healthy}}
`

let root: string
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'tta-deploy-'))
  writeFileSync(join(root, 'compose.yml'), COMPOSE)
})
afterEach(() => {
  rmSync(root, {recursive: true, force: true})
  state.fake = undefined
})

function workspace(timeout = 1): Workspace {
  const position = {file: join(root, 'tta.config.yaml'), line: 1, column: 1}
  return {
    root,
    foundBy: 'flag',
    envFile: join(root, '.env'),
    config: {
      file: position.file,
      images: {},
      composeFiles: [],
      deploy: {staging: {name: 'staging', type: 'compose', files: [join(root, 'compose.yml')], projectName: 'stg', confirm: false, backupFirst: false, replicas: {}, timeout, position, replicasPositions: {}}},
    },
  } as Workspace
}

function target(behave: Record<string, FakeBehaviour> = {}): FakeDocker {
  const fake = new FakeDocker((_service, image) => behave[image] ?? {})
  for (const [image, id] of [['db:1', 'sha256:db1'], ['api:1.0.0', 'sha256:api1'], ['api:2.0.0', 'sha256:api2']]) fake.images.set(image as string, {id: id as string})
  state.fake = fake
  return fake
}

async function deploy(version: string, signal?: AbortSignal) {
  const events: DeployEvent[] = []
  const emit = (e: DeployEvent): void => void events.push(e)
  const request = {workspace: workspace(), cwd: root, env: 'staging', version, environment: {}}
  const prepared = await prepareDeploy(request, emit)
  const result = await runDeploy(prepared, emit, signal).catch((error: unknown) => error)
  return {prepared, result, events, steps: events.filter((e) => e.type === 'step').map((e) => e.type === 'step' && `${e.step}:${e.status}`)}
}

const running = (fake: FakeDocker): string[] => [...fake.containers.values()].filter((c) => c.status === 'running').map((c) => c.image).sort()
const history = () => readHistory(root)

describe('runDeploy, compose target (fake engine)', () => {
  it('deploys, records the version on the target and in the workspace; a second deploy of it plans nothing', async () => {
    const fake = target()
    const first = await deploy('1.0.0')
    expect(first.result).toMatchObject({record: {result: 'succeeded', activeVersion: '1.0.0', changed: ['api', 'db']}})
    expect(first.prepared.plan.services.map((s) => [s.service, s.change])).toEqual([['db', 'create'], ['api', 'create']])
    expect(first.steps).toEqual(['preflight:start', 'preflight:done', 'build:skipped', 'push:skipped', 'backup:skipped', 'rollout:start', 'rollout:done', 'verify:start', 'verify:done', 'cleanup:skipped', 'record:start', 'record:done'])
    expect(running(fake)).toEqual(['api:1.0.0', 'db:1'])
    // The record container is created, never started, and holds the history.
    expect((await readComposeRecords(fake.engine, 'stg')).map((r) => [r.version, r.result])).toEqual([['1.0.0', 'succeeded']])
    expect(history().map((r) => r.result)).toEqual(['succeeded'])

    const again = await deploy('1.0.0')
    expect(again.prepared.plan.currentVersion).toBe('1.0.0')
    expect(again.prepared.plan.services.map((s) => s.change)).toEqual(['unchanged', 'unchanged'])
    expect(again.result).toMatchObject({record: {result: 'succeeded', changed: []}})
  })

  it('a new version that never gets healthy is rolled back: the previous container runs again, recorded as rolled-back', async () => {
    const fake = target({'api:2.0.0': {exec: 1, logs: ['api 2.0.0: cannot reach db']}})
    await deploy('1.0.0')
    const oldApi = [...fake.containers.values()].find((c) => c.image === 'api:1.0.0')
    const {prepared, result, steps} = await deploy('2.0.0')
    expect(prepared.plan.services.find((s) => s.service === 'api')).toMatchObject({change: 'recreate', reason: 'image api:1.0.0 → api:2.0.0'})
    expect(result).toBeInstanceOf(DeployFailedError)
    const failed = result as InstanceType<typeof DeployFailedError>
    expect(failed.message).toBe('deploy of 2.0.0 to staging failed: api did not get healthy')
    expect(failed.rolledBackTo).toBe('1.0.0')
    expect(failed.failures[0]?.logs).toEqual(['api 2.0.0: cannot reach db'])
    expect(steps).toEqual(expect.arrayContaining(['rollout:failed', 'verify:skipped', 'rollback:done', 'record:done']))
    // The old container is back under its own name, settings and labels (same config hash: the next plan sees it unchanged).
    expect(running(fake)).toEqual(['api:1.0.0', 'db:1'])
    const back = [...fake.containers.values()].find((c) => c.image === 'api:1.0.0' && c.status === 'running')
    expect(back?.name).toBe(oldApi?.name)
    expect(back?.labels).toEqual(oldApi?.labels)
    expect(history().map((r) => [r.version, r.result, r.activeVersion])).toEqual([['1.0.0', 'succeeded', '1.0.0'], ['2.0.0', 'rolled-back', '1.0.0']])
    expect((await readComposeRecords(fake.engine, 'stg')).map((r) => r.result)).toEqual(['succeeded', 'rolled-back'])
  })

  it('a rollout that passes but fails verification (the new container exits) is rolled back too', async () => {
    // Its healthcheck passes once (the rollout), then fails while it crashes.
    const fake = target({'api:2.0.0': {exitCode: 1, afterMs: 200, exec: (n) => (n === 0 ? 0 : 1)}})
    await deploy('1.0.0')
    const {result, steps} = await deploy('2.0.0')
    expect(result).toBeInstanceOf(DeployFailedError)
    expect(steps).toEqual(expect.arrayContaining(['verify:failed', 'rollback:done']))
    expect(running(fake)).toEqual(['api:1.0.0', 'db:1'])
    expect(history().at(-1)).toMatchObject({version: '2.0.0', result: 'rolled-back', activeVersion: '1.0.0'})
  })

  it('a failed first deployment has nothing to return to: it says how to remove what is left, recorded as failed', async () => {
    const fake = target({'api:1.0.0': {exec: 1}})
    const {result, steps} = await deploy('1.0.0')
    const failed = result as InstanceType<typeof DeployFailedError>
    expect(failed).toBeInstanceOf(DeployFailedError)
    expect(failed.rolledBackTo).toBeUndefined()
    expect(failed.rollbackProblems[0]).toMatch(/^first deployment: there is no previous version to return to; .*tta clean --project-name stg/)
    expect(steps).toContain('rollback:skipped')
    expect(history()).toMatchObject([{version: '1.0.0', result: 'failed'}])
    expect(history()[0]?.activeVersion).toBeUndefined()
    // Left for inspection, not removed.
    expect(running(fake)).toEqual(['api:1.0.0', 'db:1'])
  })

  it('an interrupt during the rollout is recorded as interrupted and says how to finish or roll back', async () => {
    target({'api:2.0.0': {exec: 1}})
    await deploy('1.0.0')
    const controller = new AbortController()
    setTimeout(() => controller.abort(), 300)
    const {result} = await deploy('2.0.0', controller.signal)
    expect((result as Error).message).toBe('interrupted during the rollout: the target may run a mix of the previous and the new version; recorded as interrupted')
    expect((result as {hint?: string}).hint).toBe('run `tta deploy staging` again to finish deploying 2.0.0, or --rollback to return to 1.0.0')
    expect(history().at(-1)).toMatchObject({version: '2.0.0', result: 'interrupted'})
  })

  it('a rollback whose previous image is gone keeps the new container and says so: recorded failed, no version known to run', async () => {
    const fake = target({'api:2.0.0': {exec: 1}})
    await deploy('1.0.0')
    // The previous image is gone from the target (pruned) before the failed deployment.
    fake.images.delete('api:1.0.0')
    const {result, steps} = await deploy('2.0.0')
    const failed = result as InstanceType<typeof DeployFailedError>
    expect(failed).toBeInstanceOf(DeployFailedError)
    expect(failed.rolledBackTo).toBeUndefined()
    expect(failed.rollbackProblems).toEqual(['api: the previous image api:1.0.0 is gone from the engine; the new container was left in place'])
    expect(steps).toContain('rollback:done')
    // Checked before anything is removed: the new container stays for inspection, not both lost.
    expect([...fake.containers.values()].map((c) => c.image)).toContain('api:2.0.0')
    expect(history().at(-1)).toMatchObject({version: '2.0.0', result: 'failed'})
    expect(history().at(-1)?.activeVersion).toBeUndefined()
  })

  it('--rollback runs the recorded images of the previous version again', async () => {
    const fake = target()
    await deploy('1.0.0')
    await deploy('2.0.0')
    expect(running(fake)).toEqual(['api:2.0.0', 'db:1'])
    const events: DeployEvent[] = []
    const prepared = await prepareDeploy({workspace: workspace(), cwd: root, env: 'staging', rollback: true, environment: {}}, (e) => void events.push(e))
    expect(prepared.plan).toMatchObject({action: 'rollback', version: '1.0.0', currentVersion: '2.0.0'})
    const result = await runDeploy(prepared, (e) => void events.push(e))
    expect(result.record).toMatchObject({action: 'rollback', result: 'succeeded', activeVersion: '1.0.0'})
    expect(running(fake)).toEqual(['api:1.0.0', 'db:1'])
  })

  it('history merges the workspace\'s records with the target\'s; an unknown target is bad input naming the known ones', async () => {
    target()
    await deploy('1.0.0')
    rmSync(join(root, HISTORY_FILE))
    const {records, targetNote} = await deployHistory({workspace: workspace(), env: 'staging', environment: {}})
    expect(records.map((r) => r.version)).toEqual(['1.0.0'])
    expect(targetNote).toBeUndefined()
    state.fake = undefined
    const offline = await deployHistory({workspace: workspace(), env: 'staging', environment: {}})
    expect(offline.records).toEqual([])
    expect(offline.targetNote).toBe("the target did not answer (no fake engine): showing this workspace's history only")
    expect(() => findTarget(workspace(), 'prod')).toThrow(/^no deploy target "prod" in .*tta\.config\.yaml \(targets: staging\)$/)
  })
})
