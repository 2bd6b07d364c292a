import {execFileSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {mkdirSync, mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {Readable, Writable, type Transform} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import {describe, expect, it} from 'vitest'

import {planBackup} from '../../../src/backup/backup.js'
import {backupSettings} from '../../../src/backup/settings.js'
import {parseRowCounts} from '../../../src/backup/strategies/postgres.js'
import {keyspaceProblems, parseInfo, parseKeyspace, RdbEndMarkStripper} from '../../../src/backup/strategies/redis.js'
import {DockerDemux, HashCounter, TarCounter, tarSize} from '../../../src/backup/streams.js'
import {imageBaseName, strategyFor, type Target} from '../../../src/backup/targets.js'
import {loadWorkspaceConfig} from '../../../src/workspace/config.js'
import {openWorkspace} from '../../../src/workspace/workspace.js'
import {redisOption} from '../../../src/probes/redis-args.js'

/** Feeds `input` to a transform in chunks of `chunk` bytes and returns what came out. */
async function through(stream: Transform, input: Buffer, chunk = 7): Promise<Buffer> {
  const out: Buffer[] = []
  const pieces: Buffer[] = []
  for (let i = 0; i < input.length; i += chunk) pieces.push(input.subarray(i, i + chunk))
  await pipeline(Readable.from(pieces), stream, new Writable({write: (c: Buffer, _e, cb) => (out.push(c), cb())}))
  return Buffer.concat(out)
}

function frame(kind: number, payload: string): Buffer {
  const header = Buffer.alloc(8)
  header[0] = kind
  header.writeUInt32BE(Buffer.byteLength(payload), 4)
  return Buffer.concat([header, Buffer.from(payload)])
}

describe('stream helpers', () => {
  it('DockerDemux passes stdout on and keeps stderr, whatever the chunking', async () => {
    const input = Buffer.concat([frame(1, 'hello '), frame(2, 'warning\n'), frame(1, 'world'), frame(1, ''), frame(2, 'bye')])
    for (const size of [1, 3, 8, 9, 1000]) {
      const demux = new DockerDemux()
      expect((await through(demux, input, size)).toString()).toBe('hello world')
      expect(demux.stderr).toBe('warning\nbye')
    }
  })

  it('HashCounter counts and hashes what passes through', async () => {
    const data = Buffer.from('x'.repeat(100_000))
    const hasher = new HashCounter()
    expect((await through(hasher, data, 4096)).equals(data)).toBe(true)
    expect(hasher.bytes).toBe(100_000)
    expect(hasher.digest()).toBe(createHash('sha256').update(data).digest('hex'))
  })

  it('TarCounter counts entries of a real tar (long names included) and sees its end', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tta-tar-'))
    mkdirSync(join(dir, 'data', 'sub'), {recursive: true})
    writeFileSync(join(dir, 'data', 'a.txt'), 'a'.repeat(1000))
    writeFileSync(join(dir, 'data', 'sub', `${'long'.repeat(40)}.txt`), 'b')
    writeFileSync(join(dir, 'data', 'empty'), '')
    const tar = execFileSync('tar', ['-C', dir, '-cf', '-', 'data'])
    for (const size of [100, 512, 513, 1 << 16]) {
      const counter = new TarCounter()
      await through(counter, tar, size)
      expect(counter.entries).toBe(5) // data/, data/sub/, a.txt, the long name, empty
      expect(counter.ended).toBe(true)
    }
    const cut = new TarCounter()
    await through(cut, tar.subarray(0, 2048))
    expect(cut.ended).toBe(false)
  })

  it('tarSize reads octal and base-256 sizes', () => {
    const header = Buffer.alloc(512)
    header.write('00000001750\0', 124, 'latin1')
    expect(tarSize(header)).toBe(1000)
    header.fill(0, 124, 136)
    header[124] = 0x80
    header.writeUIntBE(10 * 2 ** 32, 130, 6)
    expect(tarSize(header)).toBe(10 * 2 ** 32)
  })
})

describe('redis parsing', () => {
  const info = '# Server\r\nredis_version:7.0.15\r\n\r\n# Keyspace\r\ndb0:keys=1000,expires=2,avg_ttl=0\r\ndb3:keys=5,expires=0,avg_ttl=0\r\n'

  it('reads INFO and its keyspace', () => {
    expect(parseInfo(info).redis_version).toBe('7.0.15')
    expect(parseKeyspace(parseInfo(info))).toEqual({db0: {keys: 1000, expires: 2}, db3: {keys: 5, expires: 0}})
  })

  it('accepts the same counts, and fewer only by keys that can have expired', () => {
    const want = {db0: {keys: 1000, expires: 2}}
    expect(keyspaceProblems(want, {db0: {keys: 1000, expires: 2}}, true)).toEqual([])
    expect(keyspaceProblems(want, {db0: {keys: 998, expires: 0}}, true)).toEqual([])
    expect(keyspaceProblems(want, {db0: {keys: 997, expires: 0}}, true)).toEqual(['db0 has 997 keys, the backup had 1000'])
    expect(keyspaceProblems(want, {}, true)).toEqual(['db0 has 0 keys, the backup had 1000'])
    expect(keyspaceProblems({}, {db1: {keys: 1, expires: 0}}, true)).toEqual(['db1 has 1 keys, the backup had 0'])
    expect(keyspaceProblems(want, {db0: {keys: 900, expires: 0}}, false)).toEqual([])
    expect(keyspaceProblems(want, {}, false)).toEqual(['db0 is empty, the backup had about 1000 keys'])
  })

  it('reads options from a redis-server command line', () => {
    const cmd = ['redis-server', '--requirepass', 's3cret', '--appendonly', 'yes', '--port', '6380']
    expect(redisOption(cmd, 'requirepass')).toBe('s3cret')
    expect(redisOption(cmd, 'port')).toBe('6380')
    expect(redisOption(cmd, 'dir')).toBeUndefined()
  })

  it('drops the diskless-sync end mark after an RDB, and only that', async () => {
    const rdb = Buffer.concat([Buffer.from('REDIS0010'), Buffer.from('payload'.repeat(20)), Buffer.from([0xff]), Buffer.from('12345678')])
    const mark = Buffer.from('345a12e21bff89dd8487b0ce4720925f0c9de255')
    expect((await through(new RdbEndMarkStripper(), Buffer.concat([rdb, mark]), 5)).equals(rdb)).toBe(true)
    expect((await through(new RdbEndMarkStripper(), rdb, 5)).equals(rdb)).toBe(true)
    const tiny = Buffer.from('REDIS')
    expect((await through(new RdbEndMarkStripper(), tiny, 2)).equals(tiny)).toBe(true)
  })
})

describe('postgres parsing', () => {
  it('reads the JSON row-count lines, names with any character included', () => {
    expect(parseRowCounts('["public.items", 10000]\n["odd schema.t|x\\n", 3]\nnoise\n')).toEqual({'public.items': 10000, 'odd schema.t|x\n': 3})
  })
})

const target = (service: string, image: string, state: string, volumes = 0): Target => ({
  service,
  id: service,
  name: `p-${service}-1`,
  state,
  image,
  imageId: 'sha256:x',
  env: {},
  cmd: [],
  workingDir: '',
  labels: {},
  volumes: Array.from({length: volumes}, (_, i) => ({name: `p_${service}-${i}`, key: `${service}-${i}`, destination: `/v${i}`})),
  strategy: strategyFor(image, volumes),
})

describe('choosing what to back up', () => {
  it('knows the database images whatever the registry, tag or mirror', () => {
    expect(imageBaseName('registry.internal:5000/library/postgres:15.5-alpine@sha256:abc')).toBe('postgres')
    expect(strategyFor('postgres:15.5-alpine', 1)).toBe('postgres')
    expect(strategyFor('tta-standin/postgres:local', 1)).toBe('postgres')
    expect(strategyFor('redis:7.2.4-alpine', 1)).toBe('redis')
    expect(strategyFor('neo4j:5.15.0-community', 2)).toBe('neo4j')
    expect(strategyFor('prometheuscommunity/postgres-exporter:v0.15.0', 0)).toBeNull()
    expect(strategyFor('prom/prometheus:v2.48.1', 1)).toBe('volume')
    expect(strategyFor('tta/admin-api:dev', 0)).toBeNull()
  })

  it('backs up running stateful services, says why others are skipped, copies stopped volumes only offline', () => {
    const targets = new Map(
      [target('postgres', 'postgres:15', 'running', 1), target('redis', 'redis:7', 'exited', 1), target('api', 'tta/api:dev', 'running'), target('grafana', 'grafana/grafana:10', 'paused', 1)].map((t) => [t.service, t]),
    )
    const plan = planBackup(targets, [])
    expect(plan.items.map((i) => [i.target.service, i.strategy])).toEqual([['grafana', 'volume'], ['postgres', 'postgres']])
    expect(plan.skipped).toEqual([
      {service: 'api', reason: 'no data (no database image, no named volume)'},
      {service: 'redis', reason: 'not running (exited)'},
    ])
    const offline = planBackup(targets, [], true)
    expect(offline.items.map((i) => [i.target.service, i.strategy])).toEqual([['grafana', 'volume'], ['postgres', 'postgres'], ['redis', 'volume']])
    expect(planBackup(targets, ['postgres']).items.map((i) => i.target.service)).toEqual(['postgres'])
  })
})

describe('backup settings', () => {
  const ws = (yaml: string): string => {
    const dir = mkdtempSync(join(tmpdir(), 'tta-ws-'))
    writeFileSync(join(dir, 'tta.config.yaml'), yaml)
    return dir
  }

  it('reads backup: dir, keep, maxAge', () => {
    const dir = ws('backup:\n  dir: ../bk\n  keep: 10\n  maxAge: 14d\n')
    expect(loadWorkspaceConfig(dir).backup).toEqual({dir: '../bk', keep: 10, maxAgeMs: 14 * 86_400_000})
    expect(loadWorkspaceConfig(ws('backup:\n  maxAge: none\n')).backup).toEqual({maxAgeMs: null})
  })

  it('names file:line and the key for every bad value', () => {
    const dir = ws('backup:\n  keep: 0\n  maxAge: 7 days\n  dirr: x\n')
    const file = join(dir, 'tta.config.yaml')
    let message = ''
    try {
      loadWorkspaceConfig(dir)
    } catch (error) {
      message = (error as Error).message
    }
    expect(message).toContain(`${file}:2:9: backup.keep: must be a whole number`)
    expect(message).toContain(`${file}:3:11: backup.maxAge: must be a number and a unit`)
    expect(message).toContain(`${file}:4:3: backup.dirr: unknown key "dirr" (supported: dir, keep, maxAge)`)
    expect(() => loadWorkspaceConfig(ws('backup: 7d\n'))).toThrow(/backup: must be a mapping/)
  })

  it('takes flags over the config over the defaults (7 days, <workspace>/.tta/backups)', () => {
    const plain = openWorkspace(process.cwd(), ws('projectName: x\n'))
    expect(backupSettings(plain, {})).toEqual({dir: join(plain.root, '.tta', 'backups'), policy: {keep: undefined, maxAgeMs: 7 * 86_400_000}})
    const configured = openWorkspace(process.cwd(), ws('backup:\n  dir: bk\n  keep: 3\n  maxAge: none\n'))
    expect(backupSettings(configured, {})).toEqual({dir: join(configured.root, 'bk'), policy: {keep: 3, maxAgeMs: null}})
    expect(backupSettings(configured, {dir: '/tmp/elsewhere', keep: 9, 'max-age': '2d'})).toEqual({dir: '/tmp/elsewhere', policy: {keep: 9, maxAgeMs: 2 * 86_400_000}})
    expect(() => backupSettings(configured, {'max-age': 'soon'})).toThrow(expect.objectContaining({exitCode: 2}))
  })
})
