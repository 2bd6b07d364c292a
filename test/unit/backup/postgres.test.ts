// The postgres strategy against the in-memory engine, with a small model of a PostgreSQL server
// behind its tools (psql, an interactive psql session, pg_dump, pg_restore, pg_isready): what is
// dumped, in which snapshot rows are counted, what restore drops and loads, and how each of their
// failures is reported. The model is this file's, not PostgreSQL: it checks tta's side of the talk.
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {backup} from '../../../src/backup/backup.js'
import type {BackupEvent} from '../../../src/backup/events.js'
import {planRestore, restore} from '../../../src/backup/restore.js'
import {BackupStore} from '../../../src/backup/store.js'
import {verifyBackup} from '../../../src/backup/verify.js'
import type {EngineConnection} from '../../../src/docker/client.js'
import {FakeDocker, type FakeBehaviour, type FakeRun} from '../../support/fake-docker.js'

const PROJECT = 'pg'

/** A server's databases: table -> rows. */
type Databases = Record<string, Record<string, number>>

interface Server {
  dbs: Databases
  /** Commands run, as "tool db" lines. */
  calls: string[]
  env: string[][]
  fail?: {tool: string; stderr: string}
  afterRestore?: () => void
}

const arg = (cmd: string[], flag: string): string => cmd[cmd.indexOf(flag) + 1] ?? ''
const rowLines = (tables: Record<string, number>): string => Object.entries(tables).map(([t, n]) => `${JSON.stringify([t, n])}\n`).join('')

function postgres(server: Server): FakeBehaviour {
  const behaviour: FakeBehaviour = {
    // psql reading stdin: an interactive session answers as it reads; a piped script runs once stdin closes.
    session: (started) => {
      if (started.cmd[0] !== 'psql') return undefined
      const db = arg(started.cmd, '-d')
      let script = ''
      return {
        input: (text) => {
          let out = ''
          if (text.includes('pg_export_snapshot()')) {
            server.calls.push(`session ${db}`)
            out += 'snapshot:00000003-0000001B-1\ntta:snapshot\n'
          } else if (text.includes('\\echo tta:counts')) out += `${rowLines(server.dbs[db] ?? {})}tta:counts\n`
          else script += text
          return out
        },
        end: () => (script ? (behaviour.run as NonNullable<FakeBehaviour['run']>)({...started, stdin: Buffer.from(script)}) : {exitCode: 0}),
      }
    },
    run: (r: FakeRun) => {
      const tool = r.cmd[0] as string
      server.env.push(r.env)
      if (server.fail?.tool === tool) return {exitCode: 1, stderr: server.fail.stderr}
      const db = arg(r.cmd, '-d')
      if (tool === 'pg_isready') return {exitCode: 0}
      if (tool === 'pg_dump') {
        server.calls.push(`pg_dump ${db} ${arg(r.cmd, '-U')} ${r.cmd.find((a) => a.startsWith('--snapshot='))}`)
        return {exitCode: 0, stdout: `PGDMP${JSON.stringify({db, tables: server.dbs[db]})}`}
      }
      if (tool === 'pg_restore') {
        const dump = JSON.parse(r.stdin.toString().slice(5)) as {db: string; tables: Record<string, number>}
        server.calls.push(`pg_restore ${dump.db}`)
        server.dbs[dump.db] = {...dump.tables}
        server.afterRestore?.()
        return {exitCode: 0}
      }
      const sql = r.cmd.includes('-c') ? r.cmd.slice(r.cmd.indexOf('-c')).join(' ') : r.stdin.toString()
      if (sql.includes('DROP DATABASE')) {
        server.calls.push(`drop ${sql.includes('WITH (FORCE)') ? 'force' : 'terminate'}`)
        return {exitCode: 0}
      }
      if (sql.includes('server_version')) {
        const names = Object.keys(server.dbs).sort()
        return {exitCode: 0, stdout: `v:15.5 (Debian 15.5-0+deb12u1)\nn:150005\n${names.map((n) => `d:${n}\n`).join('')}o:${Object.keys(server.dbs.postgres ?? {}).length}\n`}
      }
      if (sql.includes('json_build_array')) return {exitCode: 0, stdout: rowLines(server.dbs[db] ?? {})}
      return {exitCode: 3, stderr: `model: unexpected command ${r.cmd.join(' ')}`}
    },
  }
  return behaviour
}

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tta-pg-'))
})
afterEach(() => rmSync(dir, {recursive: true, force: true}))

async function stack(server: Server) {
  const fake = new FakeDocker((service) => (service === 'db' ? postgres(server) : {}))
  fake.images.set('postgres:15', {id: 'sha256:pg15'})
  const c = await fake.createContainer({name: 'pg-db-1', Image: 'postgres:15', Env: ['POSTGRES_USER=tta', 'POSTGRES_PASSWORD=s3cret'], Labels: {'com.docker.compose.project': PROJECT, 'com.docker.compose.service': 'db', 'com.docker.compose.oneoff': 'False'}})
  await c.start()
  fake.log.length = 0
  const conn = {engine: fake.engine, endpoint: {host: 'unix:///fake.sock'}} as EngineConnection
  const store = new BackupStore(join(dir, 'backups'))
  const events: BackupEvent[] = []
  const emit = (e: BackupEvent): void => void events.push(e)
  const take = () => backup({conn, project: PROJECT, store, reason: 'manual', ttaVersion: 'test', readyTimeoutMs: 2_000, emit})
  return {fake, conn, store, emit, take}
}

const serverOf = (): Server => ({dbs: {postgres: {}, tta: {'public.items': 3, 'public.users': 2}, shop: {'public.orders': 7}}, calls: [], env: []})

describe('postgres strategy (fake engine, a model server)', () => {
  it('dumps every database that holds something, counting rows in the snapshot pg_dump reads', async () => {
    const server = serverOf()
    const {take} = await stack(server)
    const {manifest, dir: backupDir} = await take()
    const entry = manifest.services.db
    expect(entry).toMatchObject({strategy: 'postgres', serverVersion: '15.5', user: 'tta'})
    expect(entry?.files.map((f) => [f.file, f.database, f.rows])).toEqual([
      ['db.shop.pgdump', 'shop', {'public.orders': 7}],
      ['db.tta.pgdump', 'tta', {'public.items': 3, 'public.users': 2}],
    ])
    // The empty maintenance database is not dumped; pg_dump imports the session's snapshot.
    expect(server.calls).toEqual(['session shop', 'pg_dump shop tta --snapshot=00000003-0000001B-1', 'session tta', 'pg_dump tta tta --snapshot=00000003-0000001B-1'])
    expect(readFileSync(join(backupDir, 'db.tta.pgdump'), 'utf8')).toBe(`PGDMP${JSON.stringify({db: 'tta', tables: {'public.items': 3, 'public.users': 2}})}`)
    // The password goes in the environment, never on the command line.
    expect(server.env.every((env) => env.includes('PGPASSWORD=s3cret'))).toBe(true)
  })

  it('a pg_dump that fails fails the backup with its own words, and nothing is listed', async () => {
    const server = {...serverOf(), fail: {tool: 'pg_dump', stderr: 'pg_dump: error: query failed: ERROR:  permission denied for table secrets'}}
    const {store, take} = await stack(server)
    const error = await take().catch((e: unknown) => e)
    expect((error as Error).message).toBe('backup failed: db: pg_dump of shop failed (exit 1): pg_dump: error: query failed: ERROR:  permission denied for table secrets')
    expect(store.list(PROJECT)).toEqual([])
  })

  it('restore drops each database (WITH FORCE on 13+) and loads the dump; the row check then passes', async () => {
    const server = serverOf()
    const {conn, store, emit, take} = await stack(server)
    const {manifest} = await take()
    server.dbs.tta = {'public.items': 999}
    server.calls.length = 0
    const plan = await planRestore(conn, PROJECT, store.get(manifest.id, PROJECT), ['db'])
    const outcome = await restore(plan, {conn, project: PROJECT, store, safetyBackup: false, ttaVersion: 'test', readyTimeoutMs: 2_000, emit})
    expect(outcome.services).toMatchObject([{service: 'db', ok: true, detail: 'shop: 1 tables, 7 rows match; tta: 2 tables, 5 rows match'}])
    expect(server.calls).toEqual(['drop force', 'pg_restore shop', 'drop force', 'pg_restore tta'])
    expect(server.dbs.tta).toEqual({'public.items': 3, 'public.users': 2})
  })

  it('a restore whose rows differ from the backup\'s reports the tables; a failing pg_restore reports its words', async () => {
    const server = serverOf()
    const {conn, store, emit, take} = await stack(server)
    const {manifest} = await take()
    const plan = await planRestore(conn, PROJECT, store.get(manifest.id, PROJECT), ['db'])
    const options = {conn, project: PROJECT, store, safetyBackup: false, ttaVersion: 'test', readyTimeoutMs: 2_000, emit}
    // The dump loads, but something (a trigger, say) adds a row and a table.
    server.afterRestore = () => {
      if (server.dbs.shop) server.dbs.shop = {'public.orders': 8, 'public.audit': 1}
    }
    const outcome = await restore(plan, options)
    expect(outcome.services[0]).toMatchObject({ok: false, detail: 'restored, but the check failed: shop: public.orders has 8 rows, the backup had 7; shop: unexpected table public.audit'})

    server.fail = {tool: 'pg_restore', stderr: 'pg_restore: error: could not execute query: ERROR:  role "app" does not exist'}
    const failed = await restore(plan, options)
    expect(failed.services[0]).toMatchObject({ok: false, detail: 'pg_restore of shop failed (exit 1): pg_restore: error: could not execute query: ERROR:  role "app" does not exist'})
  })

  it('verify loads every dump into a throwaway server of the same image, removed afterwards, the stack untouched', async () => {
    const server = serverOf()
    const {fake, conn, store, emit, take} = await stack(server)
    const {manifest} = await take()
    fake.log.length = 0
    server.calls.length = 0
    const result = await verifyBackup({conn, store, backup: store.get(manifest.id, PROJECT), readyTimeoutMs: 2_000, emit})
    expect(result).toMatchObject({ok: true, services: [{service: 'db', ok: true, detail: 'loaded into a throwaway postgres:15: shop: 1 tables, 7 rows match; tta: 2 tables, 5 rows match'}]})
    expect(fake.log).toEqual(['create db', 'start db', 'remove db'])
    expect([...fake.containers.values()].map((c) => c.name)).toEqual(['pg-db-1'])
    expect(server.calls).toEqual(['drop force', 'pg_restore shop', 'drop force', 'pg_restore tta'])
  })
})
