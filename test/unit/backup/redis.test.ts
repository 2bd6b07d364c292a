// The redis strategy against the in-memory engine, with a small model of a Redis 7 server behind
// redis-cli and the strategy's one-off scripts: the RDB streamed from the server (its diskless
// end mark dropped), the sync delay lifted and put back, where restore places the RDB, and how a
// differing key count or a non-RDB answer is reported. The model is this file's, not Redis.
import {createHash} from 'node:crypto'
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

const PROJECT = 'rd'

interface Server {
  keys: Record<string, number>
  config: Record<string, string>
  /** What the model's redis-cli --rdb prints instead of an RDB. */
  rdbAnswer?: string
  /** After a restore, the server loads this many keys less (a damaged load). */
  loseKeys?: number
  calls: string[]
  placed?: {env: string[]; stdin: Buffer}
}

/** An RDB as the model writes it: magic, the keyspace, the EOF opcode and an 8-byte checksum. */
const rdbOf = (keys: Record<string, number>): Buffer => Buffer.concat([Buffer.from(`REDIS0011${JSON.stringify(keys)}`), Buffer.from([0xff]), Buffer.alloc(8, 7)])
const keysOf = (rdb: Buffer): Record<string, number> => JSON.parse(rdb.subarray(9, rdb.length - 9).toString()) as Record<string, number>
const keyspace = (keys: Record<string, number>): string => Object.entries(keys).map(([db, n]) => `${db}:keys=${n},expires=0,avg_ttl=0\n`).join('')

function redis(server: Server): FakeBehaviour {
  return {
    run: (r: FakeRun) => {
      const args = r.cmd.slice(r.cmd.indexOf('redis-cli') + 5)
      if (r.oneoff && r.cmd.join(' ').includes('TTA_SHA256')) {
        const sum = createHash('sha256').update(r.stdin).digest('hex')
        if (!r.env.includes(`TTA_SHA256=${sum}`)) return {exitCode: 1, stderr: `restore input damaged in transit (sha256 ${sum})`}
        server.placed = {env: r.env, stdin: r.stdin}
        server.keys = Object.fromEntries(Object.entries(keysOf(r.stdin)).map(([db, n]) => [db, n - (server.loseKeys ?? 0)]))
        return {exitCode: 0}
      }
      if (r.oneoff) return {exitCode: 0, stdout: `# Keyspace\n${keyspace(keysOf(r.stdin))}`}
      if (args[0] === 'INFO') return {exitCode: 0, stdout: `# Server\r\nredis_version:7.2.4\r\n# Keyspace\r\n${keyspace(server.keys)}`}
      if (args[0] === 'CONFIG' && args[1] === 'GET') {
        if (args[2] === '*') return {exitCode: 0, stdout: Object.entries(server.config).map(([k, v]) => `${k}\n${v}\n`).join('')}
        return {exitCode: 0, stdout: `${args[2]}\n${server.config[args[2] as string] ?? ''}\n`}
      }
      if (args[0] === 'CONFIG' && args[1] === 'SET') {
        server.calls.push(`CONFIG SET ${args[2]} ${args[3]}`)
        server.config[args[2] as string] = args[3] as string
        return {exitCode: 0, stdout: 'OK\n'}
      }
      if (args[0] === '--rdb') {
        server.calls.push(`--rdb (delay ${server.config['repl-diskless-sync-delay']})`)
        if (server.rdbAnswer) return {exitCode: 0, stdout: server.rdbAnswer}
        // Redis 7's diskless sync leaves a 40-character end mark after the RDB on stdout.
        return {exitCode: 0, stdout: Buffer.concat([rdbOf(server.keys), Buffer.from('a'.repeat(40))])}
      }
      return {exitCode: 3, stderr: `model: unexpected ${r.cmd.join(' ')}`}
    },
  }
}

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tta-redis-'))
})
afterEach(() => rmSync(dir, {recursive: true, force: true}))

async function stack(server: Server) {
  const fake = new FakeDocker((service) => (service === 'cache' ? redis(server) : {}))
  fake.images.set('redis:7.2', {id: 'sha256:redis72'})
  const c = await fake.createContainer({name: 'rd-cache-1', Image: 'redis:7.2', Cmd: ['redis-server', '--appendonly', 'yes'], WorkingDir: '/data', Labels: {'com.docker.compose.project': PROJECT, 'com.docker.compose.service': 'cache', 'com.docker.compose.oneoff': 'False'}})
  await c.start()
  const conn = {engine: fake.engine, endpoint: {host: 'unix:///fake.sock'}} as EngineConnection
  const store = new BackupStore(join(dir, 'backups'))
  const events: BackupEvent[] = []
  const emit = (e: BackupEvent): void => void events.push(e)
  const take = () => backup({conn, project: PROJECT, store, reason: 'manual', ttaVersion: 'test', readyTimeoutMs: 2_000, emit})
  return {fake, conn, store, emit, take}
}

const serverOf = (): Server => ({keys: {db0: 10, db3: 2}, config: {'repl-diskless-sync-delay': '5', dir: '/data', dbfilename: 'dump.rdb', appendonly: 'yes', appenddirname: 'appendonlydir', appendfilename: 'appendonly.aof'}, calls: []})

describe('redis strategy (fake engine, a model server)', () => {
  it('streams the RDB with the diskless end mark dropped, lifting the sync delay only for the dump', async () => {
    const server = serverOf()
    const {take} = await stack(server)
    const {manifest, dir: backupDir} = await take()
    const entry = manifest.services.cache
    expect(entry).toMatchObject({strategy: 'redis', serverVersion: '7.2.4', keyspace: {db0: {keys: 10, expires: 0}, db3: {keys: 2, expires: 0}}, keyspaceExact: true})
    expect(readFileSync(join(backupDir, 'cache.rdb')).equals(rdbOf(server.keys))).toBe(true)
    expect(server.calls).toEqual(['CONFIG SET repl-diskless-sync-delay 0', '--rdb (delay 0)', 'CONFIG SET repl-diskless-sync-delay 5'])
  })

  it('an answer that is not an RDB fails the backup and leaves nothing listed; the delay is put back', async () => {
    const server = {...serverOf(), rdbAnswer: 'ERR unknown command\n'}
    const {store, take} = await stack(server)
    const error = await take().catch((e: unknown) => e)
    expect((error as Error).message).toBe('backup failed: cache: redis-cli --rdb did not produce an RDB file')
    expect(store.list(PROJECT)).toEqual([])
    expect(server.config['repl-diskless-sync-delay']).toBe('5')
  })

  it('restore places the RDB as the AOF base the running server\'s config names, the service stopped meanwhile; the key count matches', async () => {
    const server = serverOf()
    const {fake, conn, store, emit, take} = await stack(server)
    const {manifest, dir: backupDir} = await take()
    server.keys = {db0: 1}
    fake.log.length = 0
    const plan = await planRestore(conn, PROJECT, store.get(manifest.id, PROJECT), [])
    const outcome = await restore(plan, {conn, project: PROJECT, store, safetyBackup: false, ttaVersion: 'test', readyTimeoutMs: 2_000, emit})
    expect(outcome.services).toMatchObject([{service: 'cache', ok: true, detail: '12 keys in 2 database(s) match'}])
    expect(server.placed?.stdin.equals(readFileSync(join(backupDir, 'cache.rdb')))).toBe(true)
    expect(server.placed?.env).toEqual(expect.arrayContaining(['TTA_DIR=/data', 'TTA_AOF=yes', 'TTA_AOFDIR=appendonlydir', 'TTA_AOFNAME=appendonly.aof', 'TTA_DBFILENAME=dump.rdb']))
    expect(fake.log.filter((l) => / cache$/.test(l))).toEqual(['stop cache', 'create cache', 'start cache', 'remove cache', 'start cache'])
  })

  it('a restore whose server comes back with fewer keys fails the check, naming the database', async () => {
    const server = {...serverOf(), loseKeys: 1}
    const {conn, store, emit, take} = await stack(server)
    const {manifest} = await take()
    const plan = await planRestore(conn, PROJECT, store.get(manifest.id, PROJECT), [])
    const outcome = await restore(plan, {conn, project: PROJECT, store, safetyBackup: false, ttaVersion: 'test', readyTimeoutMs: 2_000, emit})
    expect(outcome.services[0]).toMatchObject({ok: false, detail: 'restored, but the check failed: db0 has 9 keys, the backup had 10; db3 has 1 keys, the backup had 2'})
  })

  it('verify loads the RDB into a throwaway server of the image and compares the key count', async () => {
    const server = serverOf()
    const {fake, conn, store, emit, take} = await stack(server)
    const {manifest} = await take()
    fake.log.length = 0
    const result = await verifyBackup({conn, store, backup: store.get(manifest.id, PROJECT), readyTimeoutMs: 2_000, emit})
    expect(result).toMatchObject({ok: true, services: [{service: 'cache', detail: 'loaded into a throwaway redis:7.2: 12 keys in 2 database(s) match'}]})
    expect(fake.log).toEqual(['create cache', 'start cache', 'remove cache'])
  })
})
