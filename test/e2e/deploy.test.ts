// The deploy issue's acceptance, end to end: a local registry (Debian's docker-registry stand-in) on a
// free 127.0.0.1 port, a single-node swarm, and the built CLI deploying a small workspace (a redis
// datastore and a built API) as v1, v2, a v3 whose healthcheck never passes, then --rollback,
// --history and --dry-run; the same against a compose target reached through DOCKER_HOST.
import {cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {commitVersion as commitVersionIn, ensureSwarm, gitIn, healthyTaskPorts, removeStack, STACK_LABEL, startRegistry} from './deploy-helpers.js'
import {cleanupProject, docker, freePort, httpGet, PROJECT_LABEL, repoRoot, runTta, standinImage, uniqueProject, waitFor} from './helpers.js'

const swarmProject = uniqueProject('deploy-swarm')
const composeProject = uniqueProject('deploy-compose')
const registryName = `${swarmProject}-registry`
let registryPort = 0
let apiPort = 0
let workspace = ''
let swarmInitialized = false

const git = gitIn(() => workspace)
const commitVersion = (version: string, change: () => void): Promise<void> => commitVersionIn(git, version, change)

function tta(args: string[], opts: {env?: Record<string, string>; timeoutMs?: number} = {}) {
  return runTta([...args, '--workspace', workspace], {env: {TTA_API_PORT: String(apiPort), ...opts.env}, timeoutMs: opts.timeoutMs ?? 150_000})
}

/** Host ports of the stack's healthy API tasks (host-mode publishing: each task has its own). */
function healthyApiPorts(): Promise<number[]> {
  return healthyTaskPorts(`${swarmProject}_api`, 3000)
}

async function swarmVersion(): Promise<string> {
  const ports = await waitFor(async () => {
    const found = await healthyApiPorts()
    return found.length > 0 ? found : undefined
  }, {timeoutMs: 20_000, description: 'a healthy api task'})
  return (await httpGet(`http://127.0.0.1:${ports[0]}/version`)).body.trim()
}

async function serviceLabel(service: string, label: string): Promise<string> {
  return (await docker(['service', 'inspect', `${swarmProject}_${service}`, '--format', `{{index .Spec.Labels "${label}"}}`])).stdout.trim()
}

async function registryTags(): Promise<string[]> {
  const response = await httpGet(`http://127.0.0.1:${registryPort}/v2/tta/deploy-api/tags/list`)
  return response.status === 200 ? ((JSON.parse(response.body) as {tags?: string[]}).tags ?? []).sort() : []
}

beforeAll(async () => {
  registryPort = await freePort()
  apiPort = await freePort()
  workspace = mkdtempSync(join(tmpdir(), 'tta-deploy-ws-'))
  cpSync(join(repoRoot, 'test/fixtures/deploy-workspace'), workspace, {recursive: true})
  writeFileSync(join(workspace, '.env'), "TTA_REDIS_PASSWORD='e2e-Redis-Password-7d3f'\n")
  writeFileSync(
    join(workspace, 'tta.config.yaml'),
    [
      'images:',
      `  redis:7.2.4-alpine: ${standinImage('redis')}`,
      'deploy:',
      '  production:',
      '    type: swarm',
      `    registry: 127.0.0.1:${registryPort}`,
      '    files: [deploy.yml, swarm.yml]',
      `    projectName: ${swarmProject}`,
      '    timeout: 90',
      '  staging:',
      '    type: compose',
      '    host: unix:///var/run/docker.sock',
      `    registry: 127.0.0.1:${registryPort}`,
      '    files: [deploy.yml, compose.yml]',
      `    projectName: ${composeProject}`,
      '    timeout: 60',
      '    backupFirst: true',
      '  swarm-backup:',
      '    type: swarm',
      '    backupFirst: true',
      `    registry: 127.0.0.1:${registryPort}`,
      '    files: [deploy.yml, swarm.yml]',
      `    projectName: ${swarmProject}`,
      '',
    ].join('\n'),
  )
  await git(['init', '-q'])
  await commitVersion('v1', () => undefined)

  await startRegistry(swarmProject, registryName, registryPort)
  swarmInitialized = await ensureSwarm()
}, 120_000)

afterAll(async () => {
  // The stack first (services, then what they used), then the swarm we made, then plain resources.
  await removeStack(swarmProject)
  if (swarmInitialized) await docker(['swarm', 'leave', '--force'], {allowFailure: true})
  await cleanupProject(composeProject, {images: true})
  await cleanupProject(swarmProject, {images: true})
  if (workspace) rmSync(workspace, {recursive: true, force: true})
}, 120_000)

describe('tta deploy to a swarm target', () => {
  it('refuses a dirty tree, and production without -y when there is no terminal to ask', async () => {
    writeFileSync(join(workspace, 'api/public/scratch.txt'), 'wip\n')
    const dirty = await tta(['deploy', 'production', '-y'])
    expect(dirty.code).toBe(1)
    expect(dirty.stderr).toContain('uncommitted changes: api/public/scratch.txt')
    expect(dirty.stderr).toContain('--allow-dirty')
    unlinkSync(join(workspace, 'api/public/scratch.txt'))

    const unconfirmed = await tta(['deploy', 'production'])
    expect(unconfirmed.code).toBe(2)
    expect(unconfirmed.stderr).toContain('pass -y')
    expect((await docker(['service', 'ls', '-q', '--filter', `label=${STACK_LABEL}=${swarmProject}`])).stdout.trim()).toBe('')
  })

  it('deploys v1 (git describe): builds, pushes, creates the stack, verifies; the API returns v1', async () => {
    const result = await tta(['deploy', 'production', '-y'])
    expect(result.stderr + result.stdout).toContain('deployed v1 on production')
    expect(result.code).toBe(0)
    expect(await swarmVersion()).toBe('v1')
    expect(await registryTags()).toEqual(['v1'])
    // Swarm settings: start-first updates that roll back; the datastore stops first (one writer per volume).
    const update = JSON.parse((await docker(['service', 'inspect', `${swarmProject}_api`, '--format', '{{json .Spec.UpdateConfig}}'])).stdout) as {Order: string; FailureAction: string}
    expect(update).toMatchObject({Order: 'start-first', FailureAction: 'rollback'})
    expect((await docker(['service', 'inspect', `${swarmProject}_cache`, '--format', '{{.Spec.UpdateConfig.Order}}'])).stdout.trim()).toBe('stop-first')
    // The password reaches the services as a Docker secret too.
    const secrets = (await docker(['secret', 'ls', '--filter', `label=${STACK_LABEL}=${swarmProject}`, '--format', '{{.Name}}'])).stdout
    expect(secrets).toMatch(new RegExp(`^${swarmProject}_redis_password_[0-9a-f]{10}$`, 'm'))
    // History on the target: labels on every service.
    expect(await serviceLabel('api', 'dev.tta.deploy.version')).toBe('v1')
    expect(await serviceLabel('cache', 'dev.tta.deploy.version')).toBe('v1')
  })

  it('--dry-run prints the plan (images, services that change, replicas) and changes nothing', async () => {
    await commitVersion('v2', () => writeFileSync(join(workspace, 'api/public/version'), 'v2\n'))
    const specBefore = (await docker(['service', 'inspect', `${swarmProject}_api`, '--format', '{{json .Spec}}'])).stdout
    const dry = await tta(['deploy', 'production', '--dry-run'])
    expect(dry.code).toBe(0)
    expect(dry.stdout).toContain(`deploy ${swarmProject} v2 to production: swarm at unix:///var/run/docker.sock (running: v1)`)
    expect(dry.stdout).toMatch(new RegExp(`api\\s+build \\+ push\\s+127\\.0\\.0\\.1:${registryPort}/tta/deploy-api:v2`))
    expect(dry.stdout).toMatch(/cache\s+unchanged\s+1×/)
    expect(dry.stdout).toMatch(/api\s+update\s+1×.*start-first/)
    expect(dry.stdout).toContain('1 of 2 services change')
    expect(dry.stdout).toContain('dry run: nothing was built, pushed or changed')
    expect((await docker(['service', 'inspect', `${swarmProject}_api`, '--format', '{{json .Spec}}'])).stdout).toBe(specBefore)
    expect(await registryTags()).toEqual(['v1'])
    expect((await docker(['image', 'inspect', `127.0.0.1:${registryPort}/tta/deploy-api:v2`], {allowFailure: true})).code).not.toBe(0)
    const json = await tta(['deploy', 'production', '--dry-run', '--json'])
    expect(JSON.parse(json.stdout)).toMatchObject({version: 'v2', currentVersion: 'v1', services: [{service: 'cache', change: 'unchanged'}, {service: 'api', change: 'update'}]})
  })

  it('deploys v2: only the API is updated', async () => {
    const cacheTask = (await docker(['service', 'ps', '-q', '--filter', 'desired-state=running', `${swarmProject}_cache`])).stdout.trim()
    const result = await tta(['deploy', 'production', '-y'])
    expect(result.code).toBe(0)
    expect(await swarmVersion()).toBe('v2')
    expect((await docker(['service', 'ps', '-q', '--filter', 'desired-state=running', `${swarmProject}_cache`])).stdout.trim()).toBe(cacheTask)
    expect(await serviceLabel('cache', 'dev.tta.deploy.version')).toBe('v2')
  })

  it('a v3 whose healthcheck never passes exits 1 naming the failure, and v2 is served throughout', async () => {
    await commitVersion('v3', () => {
      unlinkSync(join(workspace, 'api/public/health'))
      writeFileSync(join(workspace, 'api/public/version'), 'v3\n')
    })
    const samples: Array<{healthy: number; versions: string[]}> = []
    let polling = true
    const poller = (async () => {
      while (polling) {
        const ports = await healthyApiPorts()
        const versions = await Promise.all(ports.map(async (port) => (await httpGet(`http://127.0.0.1:${port}/version`, 2_000).catch(() => ({body: 'no answer'}))).body.trim()))
        samples.push({healthy: ports.length, versions})
        await new Promise((r) => setTimeout(r, 200))
      }
    })()
    const result = await tta(['deploy', 'production', '-y']).finally(() => (polling = false))
    await poller
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('deploy of v3 to production failed: api did not get healthy')
    expect(result.stderr).toContain('healthcheck failed')
    expect(result.stderr).toContain('404 Not Found')
    expect(result.stderr).toContain('rolled back: v2 runs again')
    expect(result.stderr).not.toMatch(/^\s+at /m)
    // Never zero healthy tasks, and every healthy one answered v2.
    expect(samples.length).toBeGreaterThan(10)
    expect(samples.filter((s) => s.healthy === 0)).toEqual([])
    expect(samples.flatMap((s) => s.versions).filter((v) => v !== 'v2')).toEqual([])
    expect(await swarmVersion()).toBe('v2')
    expect(await serviceLabel('api', 'dev.tta.deploy.version')).toBe('v2')
  })

  it('--rollback returns to the version before the current one; --history lists them all', async () => {
    const result = await tta(['deploy', 'production', '--rollback', '-y'])
    expect(result.stdout).toContain('rolled back to v1 on production')
    expect(result.code).toBe(0)
    expect(await swarmVersion()).toBe('v1')

    const history = await tta(['deploy', 'production', '--history'])
    expect(history.code).toBe(0)
    const rows = history.stdout.trim().split('\n').slice(1)
    expect(rows.map((row) => row.split(/\s{2,}/).slice(1, 5))).toEqual([
      ['deploy', 'v1', 'succeeded', 'v1'],
      ['deploy', 'v2', 'succeeded', 'v2'],
      ['deploy', 'v3', 'rolled-back', 'v2'],
      ['rollback', 'v1', 'succeeded', 'v1'],
    ])
    // The target keeps its own copy: without the workspace file, --history still knows.
    rmSync(join(workspace, '.tta'), {recursive: true})
    const json = JSON.parse((await tta(['deploy', 'production', '--history', '--json'])).stdout) as {deployments: Array<{version: string; result: string; by: string}>}
    expect(json.deployments.map((d) => `${d.version}:${d.result}`)).toEqual(['v1:succeeded', 'v2:succeeded', 'v3:rolled-back', 'v1:succeeded'])
    expect(json.deployments[0]?.by).toMatch(/@/)
  })
})

describe('tta deploy to a compose target (DOCKER_HOST)', () => {
  async function composeVersion(): Promise<string> {
    return (await httpGet(`http://127.0.0.1:${apiPort}/version`)).body.trim()
  }
  async function containerId(service: string): Promise<string> {
    return (await docker(['ps', '-q', '--filter', `label=${PROJECT_LABEL}=${composeProject}`, '--filter', `label=com.docker.compose.service=${service}`])).stdout.trim()
  }

  it('deploys v1 then v2 with the engine’s convergence: only the changed service is recreated', async () => {
    await git(['checkout', '-q', 'v1'])
    const first = await tta(['deploy', 'staging'])
    expect(first.code).toBe(0)
    // backupFirst on a target that runs nothing yet: nothing to back up, and no failure.
    expect(first.stderr).toContain('nothing deployed yet: nothing to back up')
    expect(await composeVersion()).toBe('v1')
    const cache = await containerId('cache')

    await git(['checkout', '-q', 'v2'])
    const second = await tta(['deploy', 'staging'])
    expect(second.stdout).toContain('deployed v2 on staging')
    expect(second.stdout).toContain('1 of 2 services changed')
    expect(second.code).toBe(0)
    expect(await composeVersion()).toBe('v2')
    expect(await containerId('cache')).toBe(cache)
    // backupFirst: the datastore was backed up (the backup module's redis strategy) before the rollout.
    const backups = join(workspace, '.tta', 'backups')
    expect(existsSync(backups)).toBe(true)
    // Backup ids are directories; the backup module also keeps a .gitignore there.
    const manifests = readdirSync(backups, {withFileTypes: true}).filter((e) => e.isDirectory()).map(({name: id}) => JSON.parse(readFileSync(join(backups, id, 'manifest.json'), 'utf8')) as {reason: string; services: Record<string, {strategy: string}>})
    expect(manifests).toEqual([expect.objectContaining({reason: 'before deploying v2 to staging', services: {cache: expect.objectContaining({strategy: 'redis'})}})])
    // docker compose sees what tta deployed.
    const ps = await docker(['compose', '-p', composeProject, 'ps', '--format', '{{.Service}} {{.Image}}'])
    expect(ps.stdout).toContain(`api 127.0.0.1:${registryPort}/tta/deploy-api:v2`)
  })

  it('a failing v3 is rolled back to v2 (exit 1); --rollback then returns to v1', async () => {
    await git(['checkout', '-q', 'v3'])
    const failed = await tta(['deploy', 'staging', '--timeout', '8'])
    expect(failed.code).toBe(1)
    expect(failed.stderr).toContain('api: not ready before the timeout: healthcheck did not pass')
    expect(failed.stderr).toContain('404 Not Found')
    expect(failed.stderr).toContain('rolled back: v2 runs again')
    expect(await composeVersion()).toBe('v2')

    const back = await tta(['deploy', 'staging', '--rollback'])
    expect(back.code).toBe(0)
    expect(await composeVersion()).toBe('v1')
    const history = JSON.parse((await tta(['deploy', 'staging', '--history', '--json'])).stdout) as {deployments: Array<{action: string; version: string; result: string}>}
    expect(history.deployments.map((d) => `${d.action} ${d.version} ${d.result}`)).toEqual(['deploy v1 succeeded', 'deploy v2 succeeded', 'deploy v3 rolled-back', 'rollback v1 succeeded'])
  })

  it('names an unknown target and lists the known ones; a swarm target plans its backup (exit 2 / 0)', async () => {
    const result = await tta(['deploy', 'qa'])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('no deploy target "qa"')
    expect(result.stderr).toContain('targets: production, staging, swarm-backup')
    // backupFirst works on swarm targets too (deploy-swarm-ops.test.ts runs it).
    const swarmBackup = await tta(['deploy', 'swarm-backup', '--dry-run'])
    expect(swarmBackup.code).toBe(0)
    expect(swarmBackup.stdout).toContain('datastores are backed up first')
  })
})
