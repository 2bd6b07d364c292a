// deploy's build, push and backupFirst steps on a compose target, against the in-memory engine.
// The build itself runs the docker CLI (engine/images.ts) and is replaced here by one that tags
// the image in the fake engine; the push goes through the engine's push API (the fake's), and the
// registry check is a real HTTP request to a registry stub on 127.0.0.1 answering `GET /v2/`.
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {createServer, type Server} from 'node:http'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi} from 'vitest'

import type {EngineConnection} from '../../../src/docker/client.js'
import {FakeDocker} from '../../support/fake-docker.js'

const state: {fake?: FakeDocker; built: string[]; buildError?: string} = {built: []}
vi.mock('../../../src/docker/client.js', async (original) => ({
  ...(await original<typeof import('../../../src/docker/client.js')>()),
  connectEngine: async (): Promise<EngineConnection> => {
    if (!state.fake) throw new Error('no fake engine')
    return {engine: state.fake.engine, endpoint: {host: 'unix:///fake.sock'} as EngineConnection['endpoint'], version: '26.1.5', apiVersion: '1.45'}
  },
}))
vi.mock('../../../src/engine/images.js', async (original) => ({
  ...(await original<typeof import('../../../src/engine/images.js')>()),
  buildImage: async (_engine: unknown, request: {service: {image?: string}; onOutput?: (line: string) => void}) => {
    if (state.buildError) throw new Error(state.buildError)
    const image = request.service.image as string
    request.onOutput?.(`#1 naming to ${image} done`)
    state.built.push(image)
    state.fake?.images.set(image, {id: `sha256:${image}`})
    return 'cli'
  },
}))

const {DeployFailedError, runDeploy} = await import('../../../src/deploy/deploy.js')
const {prepareDeploy} = await import('../../../src/deploy/prepare.js')
const {readHistory} = await import('../../../src/deploy/history.js')
const {BackupStore} = await import('../../../src/backup/store.js')
type Workspace = import('../../../src/workspace/workspace.js').Workspace
type DeployEvent = import('../../../src/deploy/events.js').DeployEvent

const COMPOSE = `services:
  db:
    image: db:1
    volumes: [data:/var/lib/db]
  api:
    build: {context: ./api}
    image: tta/api
volumes:
  data: {}
`

let registry: Server
let registryHost: string
beforeAll(async () => {
  registry = createServer((req, res) => {
    res.writeHead(req.url === '/v2/' ? 200 : 404, {'content-type': 'application/json'})
    res.end('{}')
  })
  await new Promise<void>((resolve) => registry.listen({host: '127.0.0.1', port: 0}, () => resolve()))
  registryHost = `127.0.0.1:${(registry.address() as {port: number}).port}`
})
afterAll(() => new Promise<void>((resolve) => registry.close(() => resolve())))

let root: string
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'tta-build-'))
  mkdirSync(join(root, 'api'))
  writeFileSync(join(root, 'api', 'Dockerfile'), 'FROM scratch\n')
  writeFileSync(join(root, 'compose.yml'), COMPOSE)
  state.built = []
  state.buildError = undefined
})
afterEach(() => {
  rmSync(root, {recursive: true, force: true})
  state.fake = undefined
})

function workspace(backupFirst: boolean, registryAt = registryHost): Workspace {
  const position = {file: join(root, 'tta.config.yaml'), line: 1, column: 1}
  return {
    root,
    foundBy: 'flag',
    envFile: join(root, '.env'),
    config: {file: position.file, images: {}, composeFiles: [], deploy: {staging: {name: 'staging', type: 'compose', registry: registryAt, files: [join(root, 'compose.yml')], projectName: 'bld', confirm: false, backupFirst, replicas: {}, timeout: 2, position, replicasPositions: {}}}},
  } as Workspace
}

function engine(): FakeDocker {
  const fake = new FakeDocker()
  fake.images.set('db:1', {id: 'sha256:db1'})
  state.fake = fake
  return fake
}

async function deploy(version: string, backupFirst = false, registryAt?: string) {
  const events: DeployEvent[] = []
  const emit = (e: DeployEvent): void => void events.push(e)
  const prepared = await prepareDeploy({workspace: workspace(backupFirst, registryAt), cwd: root, env: 'staging', version, environment: {}}, emit)
  const result = await runDeploy(prepared, emit).catch((error: unknown) => error)
  const steps = events.filter((e) => e.type === 'step').map((e) => (e.type === 'step' ? `${e.step}:${e.status}` : ''))
  const detail = (step: string): string | undefined => events.find((e) => e.type === 'step' && e.step === step && e.status !== 'start' && e.detail)?.['detail' as never]
  return {prepared, result, events, steps, detail}
}

describe('runDeploy: build, push, backupFirst (fake engine)', () => {
  it('builds the service with a build section as <registry>/<image>:<version>, pushes it (registry stub), and runs it', async () => {
    const fake = engine()
    const ref = `${registryHost}/tta/api:1.0.0`
    const {prepared, result, steps, events} = await deploy('1.0.0')
    expect(prepared.plan.builds).toEqual([{service: 'api', image: ref, push: true}])
    expect(state.built).toEqual([ref])
    expect(fake.pushed).toEqual([ref])
    expect(steps.slice(2, 6)).toEqual(['build:start', 'build:done', 'push:start', 'push:done'])
    expect(events).toContainEqual({type: 'build-output', service: 'api', line: `#1 naming to ${ref} done`})
    expect(events.filter((e) => e.type === 'push-progress').at(-1)).toEqual({type: 'push-progress', image: ref, current: 1024, total: 1024})
    expect(result).toMatchObject({record: {result: 'succeeded', images: {api: ref, db: 'db:1'}}})
    expect([...fake.containers.values()].filter((c) => c.status === 'running').map((c) => c.image).sort()).toEqual([ref, 'db:1'])
  })

  it('a registry that refuses the push (fake engine\'s push) stops the deployment before the rollout: nothing runs, nothing is recorded', async () => {
    const fake = engine()
    fake.pushError = 'unauthorized: authentication required'
    const {result, steps} = await deploy('1.0.0')
    expect((result as Error).message).toBe(`api: could not push ${registryHost}/tta/api:1.0.0: unauthorized: authentication required`)
    expect(steps).toContain('push:failed')
    expect(steps).not.toContain('rollout:start')
    expect(fake.containers.size).toBe(0)
    expect(readHistory(root)).toEqual([])
  })

  it('a build that fails deploys nothing', async () => {
    const fake = engine()
    state.buildError = 'failed to solve: process "/bin/sh -c make" did not complete successfully: exit code: 2'
    const {result} = await deploy('1.0.0')
    expect((result as Error).message).toBe(`api: could not build ${registryHost}/tta/api:1.0.0: failed to solve: process "/bin/sh -c make" did not complete successfully: exit code: 2`)
    expect(fake.log).toEqual([])
  })

  it('a registry that does not answer is refused at preflight', async () => {
    engine()
    // A port that was free a moment ago: nothing listens there.
    const probe = createServer()
    await new Promise<void>((resolve) => probe.listen({host: '127.0.0.1', port: 0}, () => resolve()))
    const port = (probe.address() as {port: number}).port
    await new Promise<void>((resolve) => probe.close(() => resolve()))
    const error = await prepareDeploy({workspace: workspace(false, `127.0.0.1:${port}`), cwd: root, env: 'staging', version: '1.0.0', environment: {}}, () => undefined).catch((e: unknown) => e)
    expect((error as Error).message).toBe(`registry 127.0.0.1:${port} does not answer: http://127.0.0.1:${port}/v2/: ECONNREFUSED`)
  })

  it('backupFirst: nothing to back up on a first deployment; then the datastore is backed up before the rollout', async () => {
    const fake = engine()
    const first = await deploy('1.0.0', true)
    expect(first.detail('backup')).toBe('nothing deployed yet: nothing to back up')
    fake.archives.set('db:/var/lib/db', {'db/': '', 'db/table': 'rows'})
    const second = await deploy('1.0.1', true)
    expect(second.result).toMatchObject({record: {result: 'succeeded'}})
    expect(second.steps.indexOf('backup:done')).toBeLessThan(second.steps.indexOf('rollout:start'))
    const backups = new BackupStore(join(root, '.tta', 'backups')).list('bld')
    expect(backups.map((b) => [b.manifest?.reason, Object.keys(b.manifest?.services ?? {})])).toEqual([['before deploying 1.0.1 to staging', ['db']]])
    expect(second.detail('backup')).toMatch(new RegExp(`^backup ${backups[0]?.id} \\(db, .+\\) in `))
  })

  it('backupFirst: a backup that fails stops the deployment; the running version is untouched and nothing is recorded', async () => {
    const fake = engine()
    await deploy('1.0.0')
    const before = fake.log.length
    const {result, steps} = await deploy('1.0.1', true)
    expect(result).not.toBeInstanceOf(DeployFailedError)
    expect((result as Error).message).toBe('backup failed: db: Could not find the file /var/lib/db in container bld-db-1')
    expect(steps).toContain('backup:failed')
    expect(fake.log.slice(before).filter((l) => !/^(pause|unpause|image push) /.test(l))).toEqual([])
    expect(readHistory(root).map((r) => r.version)).toEqual(['1.0.0'])
  })
})
