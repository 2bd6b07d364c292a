// `extends` and `include` end to end: an overlay (tta.config.yaml composeFiles) includes a file and
// extends a service from another one; `tta dev` creates the containers from the merged model, and
// docker inspect shows the paths resolved against the included / extended file's directory and the
// included project's own .env; `docker compose up` on the same files creates the same containers
// (compared field by field for the keys the files set). A third service takes the included one's
// volumes (volumes_from) and sets pids_limit and blkio_config, compared the same way.
import {appendFileSync, mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {cleanupProject, copyWorkspace, docker, freePort, freePortEnv, removeWorkspace, repoRoot, runTta, standinImage, uniqueProject} from './helpers.js'

const project = uniqueProject('extinc')
const composeProject = `${project}-compose`
let workspace = ''
const env: Record<string, string> = {}

interface Inspect {
  Config: {Env: string[]; Cmd: string[]; Image: string; Labels: Record<string, string>}
  HostConfig: {
    PortBindings: Record<string, Array<{HostIp: string; HostPort: string}>> | null
    VolumesFrom: string[] | null
    PidsLimit: number | null
    BlkioWeight: number
  }
  Mounts: Array<{Type: string; Source: string; Destination: string; RW: boolean}>
  State: {Running: boolean}
}

/** Bind mounts only: the redis stand-in image declares VOLUME /data, which adds an anonymous one. */
function binds(c: Inspect): string[][] {
  return c.Mounts.filter((m) => m.Type === 'bind').map((m) => [m.Source, m.Destination])
}

async function inspect(service: string, name = project): Promise<Inspect> {
  return inspectRef(`${name}-${service}-1`)
}

async function inspectRef(ref: string): Promise<Inspect> {
  const out = await docker(['inspect', ref])
  return (JSON.parse(out.stdout) as Inspect[])[0] as Inspect
}

/**
 * The services VolumesFrom names: Compose records the source container by id, tta by name, so
 * each is looked up and named by its compose service label. The mode is left out: Compose 2.26
 * drops it (docs/compose-compat.md), tta keeps it.
 */
async function volumesFromServices(c: Inspect): Promise<string[]> {
  return Promise.all(
    (c.HostConfig.VolumesFrom ?? []).map(async (entry) => String((await inspectRef(entry.split(':')[0] ?? '')).Config.Labels['com.docker.compose.service'])),
  )
}

beforeAll(async () => {
  workspace = copyWorkspace()
  Object.assign(env, await freePortEnv())
  env.EXTRAS_PORT = String(await freePort())
  for (const d of ['extras/data', 'lib/shared']) mkdirSync(join(workspace, d), {recursive: true})
  // The included project: its own .env, a bind mount relative to its own directory.
  writeFileSync(
    join(workspace, 'extras/compose.yml'),
    `services:
  extras-cache:
    image: ${standinImage('redis')}
    command: ["redis-server", "--port", "6379"]
    environment: {FLAVOUR: "\${FLAVOUR}"}
    volumes: ["./data:/data"]
    ports: ["127.0.0.1:\${EXTRAS_PORT}:6379"]
`,
  )
  writeFileSync(join(workspace, 'extras/.env'), 'FLAVOUR=from-the-included-env\n')
  // The extended file: its relative paths resolve against lib/.
  writeFileSync(
    join(workspace, 'lib/base.yml'),
    `services:
  base:
    image: ${standinImage('redis')}
    command: ["redis-server", "--port", "6390"]
    environment: {FROM_BASE: "1", SHARED: base}
    volumes: ["./shared:/shared"]
`,
  )
  // Include and extends paths in an overlay resolve against the project directory (the bundled
  // compose/ directory), so the overlay names them absolutely.
  writeFileSync(
    join(workspace, 'overlay.yml'),
    `include:
  - ${join(workspace, 'extras/compose.yml')}
services:
  extras-worker:
    extends: {file: ${join(workspace, 'lib/base.yml')}, service: base}
    environment: {FROM_OVERLAY: "1", SHARED: overlay}
    depends_on: [extras-cache]
  extras-reader:
    image: ${standinImage('redis')}
    command: ["redis-server", "--port", "6391"]
    volumes_from: ["extras-cache:ro"]
    pids_limit: 64
    blkio_config: {weight: 300}
`,
  )
  appendFileSync(join(workspace, 'tta.config.yaml'), '\ncomposeFiles:\n  - overlay.yml\n')
})

afterAll(async () => {
  await cleanupProject(project)
  await cleanupProject(composeProject)
  removeWorkspace(workspace)
})

describe('extends and include through tta dev on a real engine', () => {
  it('starts an included service and one extended from another file, with Compose\'s paths and variables', async () => {
    const result = await runTta(['dev', 'extras-worker', 'extras-reader', '--workspace', workspace, '--project-name', project], {env, timeoutMs: 180_000})
    expect(result.code, result.stderr).toBe(0)

    const worker = await inspect('extras-worker')
    expect(worker.State.Running).toBe(true)
    expect(worker.Config.Cmd).toEqual(['redis-server', '--port', '6390'])
    expect(worker.Config.Env).toEqual(expect.arrayContaining(['FROM_BASE=1', 'FROM_OVERLAY=1', 'SHARED=overlay']))
    expect(binds(worker)).toEqual([[join(workspace, 'lib/shared'), '/shared']])
    expect(worker.Config.Labels['com.docker.compose.service']).toBe('extras-worker')

    // Started first, as the worker's dependency.
    const cache = await inspect('extras-cache')
    expect(cache.State.Running).toBe(true)
    expect(cache.Config.Env).toEqual(expect.arrayContaining(['FLAVOUR=from-the-included-env']))
    expect(binds(cache)).toEqual([[join(workspace, 'extras/data'), '/data']])

    // volumes_from: the included service's container, read-only; its bind mount shows up here.
    const reader = await inspect('extras-reader')
    expect(reader.State.Running).toBe(true)
    expect(reader.HostConfig.VolumesFrom).toEqual([`${project}-extras-cache-1:ro`])
    expect(binds(reader)).toEqual([[join(workspace, 'extras/data'), '/data']])
    expect(reader.Mounts.find((m) => m.Destination === '/data')?.RW).toBe(false)
    expect(reader.HostConfig.PidsLimit).toBe(64)
  })

  it('creates what docker compose up creates from the same files (the keys they set)', async () => {
    const bundled = join(repoRoot, 'compose')
    const files = ['docker-compose.yml', 'docker-compose.hotreload.yml'].map((f) => join(bundled, f))
    const args = ['compose', '-p', composeProject, '--env-file', join(workspace, '.env')]
    for (const f of [...files, join(workspace, 'overlay.yml')]) args.push('-f', f)
    // Another host port: tta's containers keep theirs.
    const composeEnv = {...process.env, ...env, TTA_WORKSPACE: workspace, EXTRAS_PORT: String(await freePort())}
    await docker([...args, 'up', '-d', 'extras-worker', 'extras-reader'], {env: composeEnv, timeoutMs: 120_000})
    for (const service of ['extras-worker', 'extras-cache', 'extras-reader']) {
      const ours = await inspect(service)
      const theirs = await inspect(service, composeProject)
      expect(ours.Config.Image, service).toBe(theirs.Config.Image)
      expect(ours.Config.Cmd, service).toEqual(theirs.Config.Cmd)
      expect([...ours.Config.Env].sort(), service).toEqual([...theirs.Config.Env].sort())
      expect(binds(ours), service).toEqual(binds(theirs))
      expect(ours.Config.Labels['com.docker.compose.service'], service).toBe(theirs.Config.Labels['com.docker.compose.service'])
      const hostIps = (c: Inspect): string[] => Object.values(c.HostConfig.PortBindings ?? {}).flat().map((b) => b.HostIp)
      expect(hostIps(ours), service).toEqual(hostIps(theirs))
      expect(await volumesFromServices(ours), service).toEqual(await volumesFromServices(theirs))
      expect(ours.HostConfig.PidsLimit, service).toBe(theirs.HostConfig.PidsLimit)
      // The engine keeps 0 where the kernel has no I/O weight; both tools then get the same 0.
      expect(ours.HostConfig.BlkioWeight, service).toBe(theirs.HostConfig.BlkioWeight)
    }
  })
})
