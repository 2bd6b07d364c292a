// Swarm deploy leftovers, end to end on a single-node swarm with a local registry: backupFirst
// (the backup strategies run against the datastore's swarm task), cleanup after a successful
// rollout (services the files dropped, secrets/configs nothing uses any more; never what a
// rollback needs, never what tta did not make), and Ctrl-C during a rollout (exit 130, swarm
// finishes the update by itself, the deployment recorded once as "interrupted", everywhere).
import {spawn} from 'node:child_process'
import {cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {commitVersion as commitVersionIn, ensureSwarm, gitIn, healthyTaskPorts, removeStack, STACK_LABEL, startRegistry} from './deploy-helpers.js'
import {cleanupProject, docker, freePort, httpGet, repoRoot, run, runTta, standinImage, ttaBin, uniqueProject, waitFor} from './helpers.js'

const stack = uniqueProject('deploy-ops')
const registryName = `${stack}-registry`
let registryPort = 0
let workspace = ''
let swarmInitialized = false

const git = gitIn(() => workspace)
const commitVersion = (version: string, change: () => void): Promise<void> => commitVersionIn(git, version, change)

function tta(args: string[]) {
  return runTta([...args, '--workspace', workspace], {timeoutMs: 170_000})
}

/** ops.yml: the API gets a config it serves as /conf.txt; optionally a worker with a secret and a config of its own. */
function writeOps(opts: {worker: boolean; conf: string; slowStart?: boolean}): void {
  writeFileSync(join(workspace, 'api.conf'), `${opts.conf}\n`)
  const lines = [
    'services:',
    '  api:',
    '    configs: [{source: api_conf, target: /app/public/conf.txt}]',
    ...(opts.slowStart
      ? ['    command: [sh, -c, "sleep 8; exec frontend-serve"]', '    healthcheck: {start_period: 60s}']
      : []),
  ]
  if (opts.worker) {
    lines.push('  worker:', `    image: ${standinImage('frontend')}`, '    networks: [back]', '    secrets: [worker_token]', '    configs: [worker_conf]')
  }
  lines.push('configs:', '  api_conf: {file: ./api.conf}')
  if (opts.worker) {
    lines.push('  worker_conf: {file: ./worker.conf}', 'secrets:', '  worker_token: {file: ./worker.token}')
    writeFileSync(join(workspace, 'worker.conf'), 'threads=2\n')
    writeFileSync(join(workspace, 'worker.token'), 'token-for-the-worker\n')
  }
  writeFileSync(join(workspace, 'ops.yml'), `${lines.join('\n')}\n`)
}

async function stackNames(kind: 'config' | 'secret' | 'service'): Promise<string[]> {
  const out = await docker([kind, 'ls', '--filter', `label=${STACK_LABEL}=${stack}`, '--format', '{{.Name}}'])
  return out.stdout.trim().split('\n').filter(Boolean).sort()
}

async function apiGet(path: string): Promise<string[]> {
  // Right after a start-first update the old task may still be listed healthy while it shuts
  // down: a refused connection means look again, not a failure.
  return waitFor(async () => {
    const ports = await healthyTaskPorts(`${stack}_api`, 3000)
    if (ports.length === 0) return undefined
    // A refused connection throws: waitFor tries again (and reports the last error on timeout).
    return Promise.all(ports.map(async (port) => (await httpGet(`http://127.0.0.1:${port}${path}`)).body.trim()))
  }, {timeoutMs: 30_000, description: 'a healthy api task answering'})
}

/** What every healthy api task serves at `path`, once the old tasks of an update have gone. */
async function apiServesOnly(path: string, expected: string): Promise<string[]> {
  return waitFor(async () => {
    const bodies = await apiGet(path)
    return bodies.length === 1 && bodies[0] === expected ? bodies : undefined
  }, {timeoutMs: 60_000, intervalMs: 500, description: `only ${expected} served at ${path}`}).catch(async () => apiGet(path))
}

interface Deployment {
  id: string
  version: string
  result: string
  changed: string[]
  removed?: string[]
  error?: string
}

function localHistory(): Deployment[] {
  return (JSON.parse(readFileSync(join(workspace, '.tta', 'deploy-history.json'), 'utf8')) as {deployments: Deployment[]}).deployments
}

async function targetHistory(): Promise<Deployment[]> {
  const ids = (await docker(['config', 'ls', '-q', '--filter', `label=${STACK_LABEL}=${stack}`, '--filter', 'label=dev.tta.deploy.record=true'])).stdout.trim().split('\n').filter(Boolean)
  const records: Deployment[] = []
  for (const id of ids) {
    const data = (await docker(['config', 'inspect', id, '--format', '{{json .Spec.Data}}'])).stdout.trim()
    records.push(JSON.parse(Buffer.from(JSON.parse(data) as string, 'base64').toString('utf8')) as Deployment)
  }
  return records
}

beforeAll(async () => {
  registryPort = await freePort()
  workspace = mkdtempSync(join(tmpdir(), 'tta-deploy-ops-ws-'))
  cpSync(join(repoRoot, 'test/fixtures/deploy-workspace'), workspace, {recursive: true})
  writeFileSync(join(workspace, '.env'), "TTA_REDIS_PASSWORD='e2e-Ops-Redis-Password-90aa'\n")
  writeFileSync(join(workspace, '.gitignore'), '.env\n')
  writeFileSync(
    join(workspace, 'tta.config.yaml'),
    [
      'images:',
      `  redis:7.2.4-alpine: ${standinImage('redis')}`,
      'deploy:',
      '  production:',
      '    type: swarm',
      `    registry: 127.0.0.1:${registryPort}`,
      '    files: [deploy.yml, swarm.yml, ops.yml]',
      `    projectName: ${stack}`,
      '    timeout: 90',
      '    backupFirst: true',
      '',
    ].join('\n'),
  )
  await git(['init', '-q'])
  await commitVersion('v1', () => writeOps({worker: true, conf: 'conf-1'}))

  await startRegistry(stack, registryName, registryPort)
  swarmInitialized = await ensureSwarm()
}, 120_000)

afterAll(async () => {
  await removeStack(stack)
  if (swarmInitialized) await docker(['swarm', 'leave', '--force'], {allowFailure: true})
  await cleanupProject(stack, {images: true})
  if (workspace) rmSync(workspace, {recursive: true, force: true})
}, 120_000)

describe('swarm deploy: backupFirst, cleanup, Ctrl-C', () => {
  let v1Conf = ''

  it('v1: backupFirst with nothing deployed backs up nothing; the stack runs with its configs and secrets', async () => {
    const result = await tta(['deploy', 'production', '-y'])
    expect(result.stderr).toContain('nothing deployed yet: nothing to back up')
    expect(result.stdout).toContain('deployed v1 on production')
    expect(result.code).toBe(0)
    expect(await apiServesOnly('/conf.txt', 'conf-1')).toEqual(['conf-1'])
    expect(await stackNames('service')).toEqual([`${stack}_api`, `${stack}_cache`, `${stack}_worker`])
    const configs = await stackNames('config')
    v1Conf = configs.find((c) => c.startsWith(`${stack}_api_conf_`)) ?? ''
    expect(v1Conf).not.toBe('')
    expect(configs.some((c) => c.startsWith(`${stack}_worker_conf_`))).toBe(true)
    expect((await stackNames('secret')).some((s) => s.startsWith(`${stack}_worker_token_`))).toBe(true)
  })

  it('v2: backs up the datastore from its swarm task first; removes the dropped worker and what only it used; keeps what tta did not make', async () => {
    // Things carrying the stack's label that tta did not create: never removed.
    await docker(['service', 'create', '--detach', '--name', `${stack}_manual`, '--label', `${STACK_LABEL}=${stack}`, '--replicas', '0', standinImage('frontend')])
    const handmade = await run('docker', ['secret', 'create', '--label', `${STACK_LABEL}=${stack}`, `${stack}_handmade`, '-'], {input: 'by hand\n', timeoutMs: 30_000})
    expect(handmade.code).toBe(0)
    // Data in the datastore, so the backup has something to show.
    const cache = (await docker(['ps', '-q', '--filter', `label=com.docker.swarm.service.name=${stack}_cache`])).stdout.trim()
    await docker(['exec', '-e', 'REDISCLI_AUTH=e2e-Ops-Redis-Password-90aa', cache, 'redis-cli', 'SET', 'greeting', 'hello'])

    await commitVersion('v2', () => {
      writeOps({worker: false, conf: 'conf-2'})
      writeFileSync(join(workspace, 'api/public/version'), 'v2\n')
    })
    const dry = await tta(['deploy', 'production', '--dry-run'])
    expect(dry.code).toBe(0)
    expect(dry.stdout).toMatch(/worker\s+remove\s+1×.*no longer in the compose files; removed after a successful rollout/)
    expect(dry.stdout).toContain('kept, no longer in the compose files (not created by tta): manual')
    expect(await stackNames('service')).toContain(`${stack}_worker`)

    const result = await tta(['deploy', 'production', '-y'])
    expect(result.stdout).toContain('deployed v2 on production')
    expect(result.code).toBe(0)
    expect(result.stderr).toMatch(/✔ back up datastores: backup \S+ \(cache, /)
    expect(result.stderr).toMatch(/✔ clean up: removed services worker, 1 secret, 1 config/)
    expect(await apiServesOnly('/conf.txt', 'conf-2')).toEqual(['conf-2'])

    // The backup: the redis strategy against the swarm task's container.
    const backups = join(workspace, '.tta', 'backups')
    const manifests = readdirSync(backups, {withFileTypes: true})
      .filter((e) => e.isDirectory())
      .map(({name}) => JSON.parse(readFileSync(join(backups, name, 'manifest.json'), 'utf8')) as {project: string; reason: string; complete: boolean; services: Record<string, {strategy: string; keyspace?: Record<string, {keys: number}>}>})
    expect(manifests).toHaveLength(1)
    expect(manifests[0]).toMatchObject({project: stack, reason: 'before deploying v2 to production', complete: true, services: {cache: {strategy: 'redis', keyspace: {db0: {keys: 1}}}}})

    // Cleanup: the worker and its secret/config are gone; the API's v1 config stays for a rollback.
    expect(await stackNames('service')).toEqual([`${stack}_api`, `${stack}_cache`, `${stack}_manual`])
    const configs = await stackNames('config')
    expect(configs.filter((c) => c.startsWith(`${stack}_worker_conf_`))).toEqual([])
    expect(configs.filter((c) => c.startsWith(`${stack}_api_conf_`))).toHaveLength(2)
    expect(configs).toContain(v1Conf)
    const secrets = await stackNames('secret')
    expect(secrets.filter((s) => s.startsWith(`${stack}_worker_token_`))).toEqual([])
    expect(secrets).toContain(`${stack}_handmade`)
    expect(secrets.some((s) => s.startsWith(`${stack}_redis_password_`))).toBe(true)
    expect(localHistory().at(-1)).toMatchObject({version: 'v2', result: 'succeeded', removed: ['worker']})
  })

  it('v3: the config two versions back goes; the previous one (what a rollback runs) stays', async () => {
    await commitVersion('v3', () => writeOps({worker: false, conf: 'conf-3'}))
    const before = (await stackNames('config')).filter((c) => c.startsWith(`${stack}_api_conf_`))
    const result = await tta(['deploy', 'production', '-y'])
    expect(result.code).toBe(0)
    expect(await apiServesOnly('/conf.txt', 'conf-3')).toEqual(['conf-3'])
    const after = (await stackNames('config')).filter((c) => c.startsWith(`${stack}_api_conf_`))
    expect(after).toHaveLength(2)
    expect(after).not.toContain(v1Conf)
    expect(after).toContain(before.find((c) => c !== v1Conf))
    // --rollback right after still finds everything v2 used.
    const back = await tta(['deploy', 'production', '--rollback', '-y'])
    expect(back.stdout).toContain('rolled back to v2 on production')
    expect(back.code).toBe(0)
    expect(await apiServesOnly('/version', 'v2')).toEqual(['v2'])
  })

  it('Ctrl-C during the rollout: exit 130, swarm finishes the update by itself, recorded once as interrupted, here and on the target', async () => {
    await commitVersion('v4', () => {
      writeOps({worker: false, conf: 'conf-4', slowStart: true})
      writeFileSync(join(workspace, 'api/public/version'), 'v4\n')
    })
    const child = spawn(process.execPath, [ttaBin, 'deploy', 'production', '-y', '--workspace', workspace], {env: {...process.env, NO_COLOR: '1'}, stdio: ['ignore', 'pipe', 'pipe']})
    let stderr = ''
    let stdout = ''
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
    const killer = setTimeout(() => child.kill('SIGKILL'), 170_000)
    try {
      await waitFor(async () => /api: updating/.test(stderr) || undefined, {timeoutMs: 150_000, intervalMs: 100, description: 'the api update to start'})
      await new Promise((r) => setTimeout(r, 1_000))
      const t0 = Date.now()
      child.kill('SIGINT')
      // A second Ctrl-C while it records changes nothing.
      setTimeout(() => child.kill('SIGINT'), 300)
      const code = await exited
      expect({code, stdout, stderr}).toMatchObject({code: 130})
      expect(Date.now() - t0).toBeLessThan(15_000)
    } finally {
      clearTimeout(killer)
    }
    expect(stderr).toContain('interrupted during the rollout: api was told to update and swarm finishes (or rolls back) it by update_config; recorded as interrupted')
    expect(stderr).toContain('again to finish deploying v4, or --rollback to return to v2')
    expect(stderr).not.toMatch(/^\s+at /m)

    const local = localHistory().at(-1) as Deployment
    expect(local).toMatchObject({version: 'v4', result: 'interrupted', changed: ['api']})
    const remote = (await targetHistory()).find((r) => r.id === local.id)
    expect(remote).toEqual(local)
    // Swarm carries the started update through: v4 answers once its task is healthy.
    await waitFor(async () => ((await apiGet('/version')).every((v) => v === 'v4') && (await apiGet('/version')).length === 1) || undefined, {timeoutMs: 120_000, intervalMs: 1_000, description: 'v4 serving alone'})
    // ... and swarm calls the update completed once its monitor period has passed.
    await waitFor(async () => (await docker(['service', 'inspect', `${stack}_api`, '--format', '{{.UpdateStatus.State}}'])).stdout.trim() === 'completed' || undefined, {timeoutMs: 60_000, intervalMs: 500, description: 'the api update completed'})

    // Deploying again finishes the job: nothing left to change, recorded as succeeded.
    const again = await tta(['deploy', 'production', '-y'])
    expect(again.stdout).toContain('deployed v4 on production')
    expect(again.code).toBe(0)
    const history = JSON.parse((await tta(['deploy', 'production', '--history', '--json'])).stdout) as {deployments: Deployment[]}
    expect(history.deployments.map((d) => `${d.version}:${d.result}`)).toEqual(['v1:succeeded', 'v2:succeeded', 'v3:succeeded', 'v2:succeeded', 'v4:interrupted', 'v4:succeeded'])
  })
})
