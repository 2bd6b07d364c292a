// Issue 21, end to end: two linked git worktrees of a fixture repo run `tta dev` at the same time
// with no flags and get their own project names and host ports (other stacks on this engine may
// hold the defaults: that is what allocation handles); stopping one leaves the other running; a
// later run reuses the recorded ports; worktree B is seeded from A's backup (`--from`); and
// `tta clean --volumes -y` then `tta undo -y` brings postgres rows and redis keys back.
import {execFileSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {createServer, type Server} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {cleanupProject, docker, dockerExec, fixtureWorkspace, removeWorkspace, runTta, standinImage} from './helpers.js'

const stamp = `${process.pid.toString(36)}${Date.now().toString(36).slice(-5)}`
const base = mkdtempSync(join(tmpdir(), 'tta-wt-'))
const main = join(base, 'main')
const wtA = join(base, `wta${stamp}`)
const wtB = join(base, `wtb${stamp}`)
const projectA = `tta-wta${stamp}`
const projectB = `tta-wtb${stamp}`
const wtC = join(base, `wtc${stamp}`)
const projectC = `tta-wtc${stamp}`
/** The postgres stand-in under two major-version tags of our own, to change a datastore's major version. */
const pgRepo = `tta-e2e-${stamp}/postgres`
// The stacks are kept small: two cores are shared with other agents.
const SERVICES = ['redis', 'postgres']

/** Runs tta in a checkout as a user would: cwd only, no --workspace, no --project-name, no port variables. */
function tta(cwd: string, args: string[], timeoutMs = 170_000) {
  const env: Record<string, string | undefined> = {}
  for (const name of Object.keys(process.env)) if (/^TTA_.*_PORT$/.test(name)) env[name] = undefined
  return runTta(args, {cwd, env, timeoutMs})
}

function git(cwd: string, args: string[]): void {
  execFileSync('git', ['-c', 'user.email=e2e@tta.invalid', '-c', 'user.name=e2e', ...args], {cwd, stdio: 'pipe'})
}

interface Status {
  project: string
  services: Array<{service: string; status: string}>
  endpoints: Array<{service: string; url: string; port: number}>
}

async function status(cwd: string): Promise<Status> {
  const result = await tta(cwd, ['status', '--json'], 60_000)
  if (result.code !== 0 && result.code !== 1) throw new Error(`tta status: exit ${result.code}\n${result.stderr}`)
  return JSON.parse(result.stdout) as Status
}

const ports = (s: Status): Record<string, number> => Object.fromEntries(s.endpoints.map((e) => [e.service, e.port]))
const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex')

async function psql(project: string, sql: string): Promise<string> {
  const result = await dockerExec(`${project}-postgres-1`, ['psql', '-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-U', 'tta', '-d', 'tta', '-c', sql], {timeoutMs: 60_000})
  if (result.code !== 0) throw new Error(`psql: ${result.stderr}`)
  return result.stdout
}

function redisPassword(checkout: string): string {
  const match = /^TTA_REDIS_PASSWORD=(.*)$/m.exec(readFileSync(join(checkout, '.env'), 'utf8'))
  if (!match?.[1]) throw new Error('no TTA_REDIS_PASSWORD in .env')
  return match[1].replace(/^'|'$/g, '')
}

async function redisCli(project: string, checkout: string, args: string[]): Promise<string> {
  const result = await dockerExec(`${project}-redis-1`, ['redis-cli', '--no-auth-warning', '-a', redisPassword(checkout), ...args], {timeoutMs: 30_000})
  if (result.code !== 0) throw new Error(`redis-cli: ${result.stderr}`)
  return result.stdout
}

/** Checksums of the postgres rows and the redis key/value set. */
async function checksums(project: string, checkout: string): Promise<{rows: string; count: string; redis: string; keys: number}> {
  const rows = await psql(project, 'SELECT * FROM items ORDER BY id')
  const keys = (await redisCli(project, checkout, ['--scan', '--pattern', 'k:*'])).split('\n').filter(Boolean).sort()
  const values: string[] = []
  for (const key of keys) values.push((await redisCli(project, checkout, ['GET', key])).trim())
  return {rows: sha256(rows), count: (await psql(project, 'SELECT count(*) FROM items')).trim(), redis: sha256(keys.map((k, i) => `${k}=${values[i]}`).join('\n')), keys: keys.length}
}

beforeAll(() => {
  mkdirSync(main)
  cpSync(fixtureWorkspace, main, {recursive: true})
  git(main, ['init', '-q', '-b', 'main'])
  git(main, ['add', '-A'])
  git(main, ['commit', '-q', '-m', 'fixture'])
  git(main, ['worktree', 'add', '-q', wtA, '-b', `a${stamp}`])
  git(main, ['worktree', 'add', '-q', wtB, '-b', `b${stamp}`])
  git(main, ['worktree', 'add', '-q', wtC, '-b', `c${stamp}`])
})

/** Listens on 127.0.0.1:port; undefined when something else already does (then it is taken anyway). */
function holdPort(port: number): Promise<Server | undefined> {
  return new Promise((resolvePromise) => {
    const server = createServer()
    server.once('error', () => resolvePromise(undefined))
    server.listen({host: '127.0.0.1', port, exclusive: true}, () => resolvePromise(server))
  })
}

afterAll(async () => {
  await cleanupProject(projectA)
  await cleanupProject(projectB)
  await cleanupProject(projectC)
  // Only the two tags this file added; the stand-in image keeps its own.
  await docker(['rmi', `${pgRepo}:15`, `${pgRepo}:16`], {allowFailure: true})
  removeWorkspace(base)
}, 120_000)

describe('parallel stacks per git worktree', () => {
  let firstA: Record<string, number> = {}

  it('two worktrees run tta dev at the same time with no flags: both ready, distinct names and ports', async () => {
    const [a, b] = await Promise.all([tta(wtA, ['dev', ...SERVICES]), tta(wtB, ['dev', ...SERVICES])])
    expect(a.code, a.stderr + a.stdout).toBe(0)
    expect(b.code, b.stderr + b.stdout).toBe(0)
    expect(a.stdout).toContain(`(project ${projectA})`)
    expect(b.stdout).toContain(`(project ${projectB})`)

    const [sa, sb] = await Promise.all([status(wtA), status(wtB)])
    expect(sa.project).toBe(projectA)
    expect(sb.project).toBe(projectB)
    expect(sa.services.map((s) => `${s.service}:${s.status}`).sort()).toEqual(['postgres:healthy', 'redis:healthy'])
    expect(sb.services.map((s) => `${s.service}:${s.status}`).sort()).toEqual(['postgres:healthy', 'redis:healthy'])
    firstA = ports(sa)
    const portsB = ports(sb)
    expect(Object.keys(firstA).sort()).toEqual(['postgres', 'redis'])
    const all = [...Object.values(firstA), ...Object.values(portsB)]
    expect(new Set(all).size).toBe(4)
    // The URLs printed by tta dev carry the real ports.
    expect(a.stdout).toContain(`redis://localhost:${firstA.redis}`)
    expect(b.stdout).toContain(`postgresql://localhost:${portsB.postgres}`)
    // At most one stack can hold the defaults: the other's ports were allocated and recorded.
    const recorded = [wtA, wtB].filter((dir) => existsSync(join(dir, '.tta', 'ports.json')))
    expect(recorded.length).toBeGreaterThanOrEqual(1)
    for (const dir of recorded) {
      const file = JSON.parse(readFileSync(join(dir, '.tta', 'ports.json'), 'utf8')) as {projects: Record<string, {ports: Record<string, number>}>}
      const project = dir === wtA ? projectA : projectB
      const mine = dir === wtA ? firstA : portsB
      for (const port of Object.values(file.projects[project]?.ports ?? {})) expect(Object.values(mine)).toContain(port)
    }
    // The main checkout's project is a different one, with nothing running.
    expect((await status(main)).project).toBe('tta')
  })

  it('stopping one worktree leaves the other running', async () => {
    const stop = await tta(wtA, ['stop'])
    expect(stop.code, stop.stderr).toBe(0)
    const [sa, sb] = await Promise.all([status(wtA), status(wtB)])
    expect(sa.services.every((s) => s.status === 'stopped')).toBe(true)
    expect(sb.services.map((s) => s.status)).toEqual(['healthy', 'healthy'])
  })

  it('a later run reuses the same ports', async () => {
    const again = await tta(wtA, ['dev', ...SERVICES])
    expect(again.code, again.stderr).toBe(0)
    expect(ports(await status(wtA))).toEqual(firstA)
  })

  it('a taken default port: --strict-ports refuses (exit 2, port named, nothing created); without it a free one is allocated and recorded', async () => {
    // Held for a few seconds at most; when another stack holds it, it is taken all the same.
    const server = await holdPort(6379)
    try {
      const strict = await tta(wtC, ['dev', 'redis', '--strict-ports'])
      expect(strict.code, strict.stderr).toBe(2)
      expect(strict.stderr).toContain('redis: host port 127.0.0.1:6379 is already in use')
      expect((await status(wtC)).services).toEqual([])

      const allocated = await tta(wtC, ['dev', 'redis'])
      expect(allocated.code, allocated.stderr).toBe(0)
      const port = ports(await status(wtC)).redis as number
      expect(port).toBeGreaterThanOrEqual(20_000)
      expect(port).toBeLessThanOrEqual(29_999)
      expect(allocated.stderr).toContain(`TTA_REDIS_PORT: the port was taken, using ${port}`)
      const file = JSON.parse(readFileSync(join(wtC, '.tta', 'ports.json'), 'utf8')) as {projects: Record<string, {ports: Record<string, number>}>}
      expect(file.projects[projectC]?.ports).toEqual({TTA_REDIS_PORT: port})
    } finally {
      await new Promise((r) => (server ? server.close(r) : r(undefined)))
    }
  })

  it('seeds worktree B from A\'s latest backup (tta dev --from A): equal rows', async () => {
    await psql(projectA, 'CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL)')
    await psql(projectA, "INSERT INTO items SELECT g, 'item-' || md5(g::text) FROM generate_series(1, 2000) g")
    for (let i = 0; i < 50; i++) await redisCli(projectA, wtA, ['SET', `k:${i}`, sha256(String(i))])
    const backup = await tta(wtA, ['backup', 'postgres', 'redis'])
    expect(backup.code, backup.stderr).toBe(0)

    const seeded = await tta(wtB, ['dev', ...SERVICES, '--from', wtA])
    expect(seeded.code, seeded.stderr + seeded.stdout).toBe(0)
    expect(seeded.stderr).toContain(`of project ${projectA}`)
    const [ca, cb] = await Promise.all([checksums(projectA, wtA), checksums(projectB, wtB)])
    expect(cb.count).toBe('2000')
    expect(cb.rows).toBe(ca.rows)
  })

  it('clean --volumes -y takes an auto snapshot; tta undo -y brings postgres rows and redis keys back', async () => {
    const before = await checksums(projectB, wtB)
    expect(before.count).toBe('2000')
    expect(before.keys).toBe(50)

    const clean = await tta(wtB, ['clean', '--volumes', '-y'])
    expect(clean.code, clean.stderr).toBe(0)
    expect(clean.stdout).toMatch(/auto snapshot \d{8}T\d{6}Z/)
    const list = await tta(wtB, ['backup', '--list', '--json'])
    const listed = JSON.parse(list.stdout) as Array<{reason: string; label: string | null; services: Record<string, unknown>}>
    expect(listed.some((b) => b.label === 'auto' && b.reason === 'before clean --volumes' && Object.keys(b.services).sort().join() === 'postgres,redis')).toBe(true)

    const undo = await tta(wtB, ['undo', '-y'])
    expect(undo.code, undo.stderr + undo.stdout).toBe(0)
    expect(await checksums(projectB, wtB)).toEqual(before)
  })

  it('recreating a datastore on another major version takes an auto snapshot first', async () => {
    await docker(['tag', standinImage('postgres'), `${pgRepo}:15`])
    await docker(['tag', standinImage('postgres'), `${pgRepo}:16`])
    const config = join(wtC, 'tta.config.yaml')
    const original = readFileSync(config, 'utf8')
    writeFileSync(config, original.replace('postgres:15.5-alpine: tta-standin/postgres:local', `postgres:15.5-alpine: ${pgRepo}:15`))
    const first = await tta(wtC, ['dev', 'postgres'])
    expect(first.code, first.stderr).toBe(0)
    await psql(projectC, 'CREATE TABLE items (id int PRIMARY KEY)')
    await psql(projectC, 'INSERT INTO items SELECT generate_series(1, 100)')

    writeFileSync(config, original.replace('postgres:15.5-alpine: tta-standin/postgres:local', `postgres:15.5-alpine: ${pgRepo}:16`))
    const upgraded = await tta(wtC, ['dev', 'postgres'])
    expect(upgraded.code, upgraded.stderr).toBe(0)
    expect(upgraded.stderr).toMatch(/auto snapshot \d{8}T\d{6}Z\S* taken before changing postgres to another major version/)
    const list = JSON.parse((await tta(wtC, ['backup', '--list', '--json'])).stdout) as Array<{label: string | null; reason: string; services: Record<string, {strategy: string}>}>
    const snapshot = list.find((b) => b.label === 'auto' && b.reason.includes(`${pgRepo}:15 → ${pgRepo}:16`))
    expect(snapshot?.services.postgres?.strategy).toBe('postgres')
  })
})
