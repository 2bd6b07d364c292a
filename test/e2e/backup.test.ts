// Issue 6 acceptance, end to end: `tta backup` / `tta restore` on real postgres and redis
// stand-ins (Debian's postgres, pg_dump, redis-server), and on the neo4j stub (an HTTP stub whose
// `neo4j-admin database dump/load` is a gzipped tar of the database directory: what it shows is tta's
// orchestration of neo4j, stop / one-off dump / start, never Neo4j's own dump format). Data goes in through docker exec and the published 127.0.0.1 ports; checksums of the
// ordered SELECT output and of the redis key/value set prove a round trip; a corrupted file is
// refused before anything is touched; a SIGKILLed backup leaves nothing listed; clean --volumes
// on a terminal takes an auto snapshot first.
import {spawn} from 'node:child_process'
import {createHash} from 'node:crypto'
import {existsSync, readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {
  cleanupProject,
  copyWorkspace,
  docker,
  dockerExec,
  freePort,
  PROJECT_LABEL,
  redisCommands,
  removeWorkspace,
  runTta,
  ttaBin,
  uniqueProject,
  waitFor,
  type RespValue,
} from './helpers.js'

const project = uniqueProject('backup')
let workspace = ''
let backups = ''
const env: Record<string, string> = {}
const pg = `${project}-postgres-1`

function tta(args: string[], timeoutMs = 170_000) {
  return runTta([...args, '--workspace', workspace, '--project-name', project], {env, timeoutMs})
}

async function psql(sql: string): Promise<string> {
  const result = await dockerExec(pg, ['psql', '-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-U', 'tta', '-d', 'tta', '-c', sql], {timeoutMs: 120_000})
  if (result.code !== 0) throw new Error(`psql: ${result.stderr}`)
  return result.stdout
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex')

/** Checksum of the ordered SELECT output, as psql prints it. */
async function tableChecksum(): Promise<string> {
  return sha256(await psql('SELECT * FROM items ORDER BY id'))
}

function redisPassword(): string {
  const match = /^TTA_REDIS_PASSWORD=(.*)$/m.exec(readFileSync(join(workspace, '.env'), 'utf8'))
  if (!match?.[1]) throw new Error('no TTA_REDIS_PASSWORD in .env')
  return match[1].replace(/^'|'$/g, '')
}

async function redis(commands: string[][]): Promise<RespValue[]> {
  const replies = await redisCommands(Number(env.TTA_REDIS_PORT), [['AUTH', redisPassword()], ...commands], 20_000)
  return replies.slice(1)
}

/** Checksum of the whole key/value set (sorted keys, their values). */
async function redisChecksum(): Promise<{keys: number; sum: string}> {
  const [keys] = (await redis([['KEYS', '*']])) as [string[]]
  keys.sort()
  const values = keys.length > 0 ? ((await redis([['MGET', ...keys]]))[0] as string[]) : []
  return {keys: keys.length, sum: sha256(keys.map((k, i) => `${k}=${values[i]}`).join('\n'))}
}

interface Listed {
  id: string
  reason: string
  label: string | null
  complete: boolean
  services: Record<string, {strategy: string}>
  verified: {ok: boolean} | null
}

async function list(): Promise<Listed[]> {
  const result = await tta(['backup', '--list', '--json'])
  expect(result.code, result.stderr).toBe(0)
  return JSON.parse(result.stdout) as Listed[]
}

async function startedAt(service: string): Promise<string> {
  return (await docker(['inspect', '--format', '{{.State.StartedAt}}', `${project}-${service}-1`])).stdout.trim()
}

beforeAll(async () => {
  workspace = copyWorkspace()
  backups = join(workspace, '.tta', 'backups')
  for (const name of ['TTA_REDIS_PORT', 'TTA_POSTGRES_PORT', 'TTA_NEO4J_HTTP_PORT', 'TTA_NEO4J_BOLT_PORT']) env[name] = String(await freePort())
  // One service per run: each brings only itself up (none of them depends on another).
  for (const service of ['postgres', 'redis', 'neo4j']) {
    const up = await tta(['dev', service])
    if (up.code !== 0) throw new Error(`tta dev ${service} failed:\n${up.stderr}\n${up.stdout}`)
  }
  await psql('CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, price numeric(10,2), tags text[], created timestamptz)')
  await psql(
    "INSERT INTO items SELECT g, 'item-' || md5(g::text), (g % 997) / 7.0, ARRAY['t' || (g % 13), 'u' || (g % 7)], timestamptz '2026-01-01' + g * interval '1 minute' FROM generate_series(1, 10000) g",
  )
  const sets: string[][] = []
  for (let i = 0; i < 1000; i++) sets.push(['SET', `session:${i}`, `user-${i}-${sha256(String(i)).slice(0, 24)}`])
  await redis(sets)
}, 240_000)

afterAll(async () => {
  await cleanupProject(project)
  removeWorkspace(workspace)
}, 120_000)

describe('tta backup / restore on real postgres and redis stand-ins and the neo4j stub', () => {
  let id = ''
  let before: {table: string; redis: {keys: number; sum: string}}

  it('backs up every running stateful service (the neo4j stub\'s dump is tar): manifest with sha256 per file, files 0600', async () => {
    before = {table: await tableChecksum(), redis: await redisChecksum()}
    expect(before.redis.keys).toBe(1000)
    expect((await psql('SELECT count(*) FROM items')).trim()).toBe('10000')

    const result = await tta(['backup', '--json'])
    expect(result.code, result.stderr).toBe(0)
    const manifest = JSON.parse(result.stdout) as {
      id: string
      project: string
      complete: boolean
      services: Record<string, {strategy: string; image: string; serverVersion: string | null; bytes: number; files: Array<{file: string; bytes: number; sha256: string; rows?: Record<string, number>}>; keyspace?: Record<string, {keys: number}>}>
    }
    id = manifest.id
    expect(id).toMatch(/^\d{8}T\d{6}Z$/)
    expect(manifest.project).toBe(project)
    expect(manifest.complete).toBe(true)
    expect(Object.fromEntries(Object.entries(manifest.services).map(([s, e]) => [s, e.strategy]))).toEqual({neo4j: 'neo4j', postgres: 'postgres', redis: 'redis'})
    expect(manifest.services.postgres?.serverVersion).toMatch(/^15\./)
    expect(manifest.services.postgres?.files.find((f) => f.file.includes('.tta.'))?.rows).toEqual({'public.items': 10000})
    expect(manifest.services.redis?.keyspace).toEqual({db0: {keys: 1000, expires: 0}})
    // Progress on stderr names bytes and a rate.
    expect(result.stderr).toMatch(/postgres: [\d.]+ [kM]?B in [\d.]+s, [\d.]+ [kM]?B\/s/)

    const dir = join(backups, id)
    expect(statSync(dir).mode & 0o777).toBe(0o700)
    expect(statSync(join(dir, 'manifest.json')).mode & 0o777).toBe(0o600)
    for (const entry of Object.values(manifest.services)) {
      for (const file of entry.files) {
        const path = join(dir, file.file)
        expect(statSync(path).mode & 0o777).toBe(0o600)
        expect(statSync(path).size).toBe(file.bytes)
        expect(createHash('sha256').update(readFileSync(path)).digest('hex')).toBe(file.sha256)
      }
    }
    expect(readdirSync(dir).filter((f) => f.endsWith('.partial') || f.startsWith('.'))).toEqual([])
    // Dumps hold data: the backup directory keeps itself out of git.
    expect(readFileSync(join(backups, '.gitignore'), 'utf8')).toMatch(/^\*$/m)
    expect(readFileSync(join(dir, manifest.services.redis?.files[0]?.file ?? ''), 'latin1').slice(0, 5)).toBe('REDIS')
  })

  it('drop the table and FLUSHALL, restore: the data is identical', async () => {
    await psql('DROP TABLE items')
    await redis([['FLUSHALL']])
    expect((await redisChecksum()).keys).toBe(0)

    const result = await tta(['restore', id, '-y'])
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0)
    expect(result.stdout).toMatch(/postgres\s+restored/)
    expect(result.stdout).toMatch(/redis\s+restored/)
    expect(result.stdout).toMatch(/tta: 1 tables, 10000 rows match/)
    expect(result.stdout).toMatch(/1000 keys in 1 database\(s\) match/)

    expect(await tableChecksum()).toBe(before.table)
    expect(await redisChecksum()).toEqual(before.redis)

    // The state just before the restore was saved first, and is listed.
    const safety = (await list()).find((b) => b.reason === `before restore of ${id}`)
    expect(safety?.complete).toBe(true)
    expect(safety?.label).toBe('auto')
    expect(result.stdout).toContain(`tta restore ${safety?.id} -y`)
  })

  it('restore without -y and without a terminal refuses (exit 2) and changes nothing', async () => {
    const result = await tta(['restore', id, 'redis'])
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/pass -y/)
  })

  it('--verify loads every service into throwaway containers (neo4j: the stub\'s tar load); --list shows it verified', async () => {
    const result = await tta(['backup', '--verify', id, '--json'])
    expect(result.code, result.stderr).toBe(0)
    const verified = JSON.parse(result.stdout) as {ok: boolean; services: Array<{service: string; ok: boolean; detail: string}>}
    expect(verified.ok).toBe(true)
    expect(verified.services.map((s) => s.service)).toEqual(['neo4j', 'postgres', 'redis'])
    expect(verified.services.find((s) => s.service === 'postgres')?.detail).toContain('10000 rows match')
    expect((await list()).find((b) => b.id === id)?.verified?.ok).toBe(true)
    // The throwaway containers are gone.
    const left = await docker(['ps', '-a', '--filter', `label=${PROJECT_LABEL}=${project}`, '--filter', 'label=dev.tta.backup', '-q'])
    expect(left.stdout.trim()).toBe('')
  })

  it('a corrupted backup file makes restore refuse before touching any data', async () => {
    const dump = readdirSync(join(backups, id)).find((f) => f.endsWith('.tta.pgdump')) as string
    const path = join(backups, id, dump)
    const bytes = readFileSync(path)
    const middle = Math.floor(bytes.length / 2)
    bytes[middle] = (bytes[middle] ?? 0) ^ 0xff
    writeFileSync(path, bytes)

    await psql("INSERT INTO items VALUES (10001, 'after-backup', 1, '{}', now())")
    const state = {table: await tableChecksum(), redis: await redisChecksum(), redisStarted: await startedAt('redis'), backups: (await list()).length}

    const result = await tta(['restore', id, '-y'])
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/is damaged, refusing to restore it \(nothing was changed\)/)
    expect(result.stderr).toContain(`${dump} sha256`)
    expect(await tableChecksum()).toBe(state.table)
    expect(await redisChecksum()).toEqual(state.redis)
    expect(await startedAt('redis')).toBe(state.redisStarted)
    // Not even a safety backup: refused before anything else.
    expect((await list()).length).toBe(state.backups)

    const verify = await tta(['backup', '--verify', id])
    expect(verify.code).toBe(1)
    expect(verify.stderr).toMatch(/did not verify/)
    expect((await list()).find((b) => b.id === id)?.verified?.ok).toBe(false)
  })

  it('SIGKILL mid-dump leaves no entry in --list and no partial file under a final name; the next backup clears it', async () => {
    // Enough data that pg_dump is still streaming when the kill comes.
    await psql("CREATE TABLE big AS SELECT g AS id, md5(g::text) || md5((g * 7)::text) || md5((g * 13)::text) AS payload FROM generate_series(1, 1500000) g")
    const listedBefore = (await list()).map((b) => b.id)
    const child = spawn(process.execPath, [ttaBin, 'backup', 'postgres', '--workspace', workspace, '--project-name', project], {env: {...process.env, ...env, NO_COLOR: '1'}, stdio: 'ignore'})
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    const partial = await waitFor(
      () => {
        for (const dir of existsSync(backups) ? readdirSync(backups) : []) {
          if (listedBefore.includes(dir) || !/^\d{8}T\d{6}Z/.test(dir)) continue
          const file = readdirSync(join(backups, dir)).find((f) => f.endsWith('.tta.pgdump.partial'))
          if (file && statSync(join(backups, dir, file)).size > 256 * 1024) return {dir, file}
        }
        return undefined
      },
      {timeoutMs: 60_000, intervalMs: 20, description: 'the dump streaming into a .partial file'},
    )
    child.kill('SIGKILL')
    await exited

    expect((await list()).map((b) => b.id)).toEqual(listedBefore)
    const files = readdirSync(join(backups, partial.dir))
    expect(files).not.toContain('manifest.json')
    // The dump being written is still .partial; a file under its final name (an earlier,
    // smaller database of the same run) is a complete archive.
    expect(files).toContain(partial.file)
    for (const file of files.filter((f) => !f.endsWith('.partial') && !f.startsWith('.'))) {
      expect(file).toMatch(/\.pgdump$/)
      await docker(['cp', join(backups, partial.dir, file), `${pg}:/tmp/complete.pgdump`])
      const listed = await dockerExec(pg, ['pg_restore', '-l', '/tmp/complete.pgdump'])
      expect(listed.code, `${file}: ${listed.stderr}`).toBe(0)
    }

    // The dump inside the container stopped with tta (it would otherwise run on, holding its locks).
    await waitFor(async () => (await psql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pg_dump'")).trim() === '0', {
      // Well under the ~10 s the rest of this dump takes: it must stop, not finish.
      timeoutMs: 4_000,
      description: 'pg_dump gone from pg_stat_activity',
    })
    await psql('DROP TABLE big')
    const next = await tta(['backup', 'redis'])
    expect(next.code, next.stderr).toBe(0)
    expect(next.stdout).toContain(`removed unfinished backup ${partial.dir}`)
    expect(existsSync(join(backups, partial.dir))).toBe(false)
  })

  it('retention: --keep keeps the newest N of this project', async () => {
    const result = await tta(['backup', 'redis', '--keep', '2'])
    expect(result.code, result.stderr).toBe(0)
    // Auto snapshots (the restore's safety snapshot) have their own retention: not counted here.
    const after = (await list()).filter((b) => b.label !== 'auto')
    expect(after).toHaveLength(2)
    expect(result.stdout).toMatch(/removed backup \S+ \(beyond the newest 2\)/)
  })

  it('tta clean --volumes on a terminal asks, takes an auto snapshot, then removes the volumes', async () => {
    const countBefore = (await list()).length
    const output = await withTerminal(['clean', '--volumes', '--workspace', workspace, '--project-name', project], [[/Remove these \d+ resources/, 'y']])
    expect(output.code, output.text).toBe(0)
    expect(output.text).toMatch(/auto snapshot \d{8}T\d{6}Z\S* of /)
    expect(output.text).toMatch(/removed \d+ resource/)
    const after = await list()
    expect(after).toHaveLength(countBefore + 1)
    expect(after[0]?.reason).toBe('before clean --volumes')
    expect(Object.keys(after[0]?.services ?? {}).sort()).toEqual(['neo4j', 'postgres', 'redis'])
    const volumes = await docker(['volume', 'ls', '-q', '--filter', `label=${PROJECT_LABEL}=${project}`])
    expect(volumes.stdout.trim()).toBe('')
  })
})

/**
 * Runs tta under `script` (a pseudo-terminal), answering each prompt when it appears. Bounded:
 * 150 s in all.
 */
function withTerminal(args: string[], answers: Array<[RegExp, string]>): Promise<{code: number | null; text: string}> {
  const command = [process.execPath, ttaBin, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ')
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', command, '/dev/null'], {env: {...process.env, ...env, NO_COLOR: '1'}, stdio: ['pipe', 'pipe', 'pipe']})
    let text = ''
    let next = 0
    const onData = (chunk: Buffer): void => {
      text += chunk.toString('utf8')
      const answer = answers[next]
      if (answer && answer[0].test(text.slice(text.lastIndexOf('\n', text.length - 2) + 1))) {
        next++
        child.stdin?.write(`${answer[1]}\r`)
      }
    }
    child.stdout?.on('data', onData)
    child.stderr?.on('data', onData)
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`withTerminal timed out; output so far:\n${text}`))
    }, 150_000)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({code, text})
    })
  })
}
