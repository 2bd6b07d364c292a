import {existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {backupId, isBackupFileName, manifestProblems, safeComponent, uniqueName, type Manifest} from '../../../src/backup/manifest.js'
import {BackupStore} from '../../../src/backup/store.js'

const SHA = 'a'.repeat(64)

function manifest(id: string, project = 'tta', overrides: Partial<Manifest> = {}): Manifest {
  return {
    format: 1,
    id,
    tta: '0.1.0',
    project,
    reason: 'manual',
    started: '2026-11-21T12:00:00.000Z',
    finished: '2026-11-21T12:00:05.000Z',
    complete: true,
    services: {
      postgres: {
        strategy: 'postgres',
        image: 'postgres:15.5-alpine',
        imageId: 'sha256:1',
        serverVersion: '15.5',
        started: '2026-11-21T12:00:00.000Z',
        finished: '2026-11-21T12:00:04.000Z',
        bytes: 3,
        files: [{file: 'postgres.tta.pgdump', bytes: 3, sha256: SHA, database: 'tta', rows: {'public.items': 3}}],
        user: 'tta',
      },
    },
    failed: [],
    skipped: [],
    ...overrides,
  }
}

describe('backup ids and names', () => {
  it('is the UTC start time in ISO basic format, suffixed on collision', () => {
    const date = new Date(Date.UTC(2026, 10, 21, 22, 48, 0, 123))
    expect(backupId(date)).toBe('20261121T224800Z')
    expect(backupId(date, 1)).toBe('20261121T224800Z-2')
  })
  it('makes database names safe and file names unique', () => {
    expect(safeComponent('tta')).toBe('tta')
    expect(safeComponent('../etc/passwd')).toBe('etc_passwd')
    expect(safeComponent('my db "x"')).toBe('my_db_x_')
    expect(safeComponent('...')).toBe('x')
    const taken = new Set<string>()
    expect(uniqueName('pg.a.pgdump', taken)).toBe('pg.a.pgdump')
    expect(uniqueName('pg.a.pgdump', taken)).toBe('pg-2.a.pgdump')
    expect(uniqueName('pg.a.pgdump', taken)).toBe('pg-3.a.pgdump')
  })
  it('accepts only plain file names', () => {
    expect(isBackupFileName('redis.rdb')).toBe(true)
    for (const bad of ['../x', '/etc/passwd', 'a/b', '.hidden', 'manifest.json', 'x.partial', 'a..b', '']) expect(isBackupFileName(bad), bad).toBe(false)
  })
})

describe('manifestProblems', () => {
  it('accepts a well-formed manifest', () => {
    expect(manifestProblems(manifest('20261121T120000Z'))).toEqual([])
  })
  it('rejects file names that leave the backup directory, bad hashes and unknown strategies', () => {
    const bad = manifest('20261121T120000Z') as unknown as {services: Record<string, {strategy: string; files: Array<Record<string, unknown>>}>}
    const pg = bad.services.postgres as {strategy: string; files: Array<Record<string, unknown>>}
    pg.files.push({file: '../../etc/shadow', bytes: 1, sha256: 'nothex', database: 'x'})
    bad.services.weird = {strategy: 'ftp', files: [{file: 'w.bin', bytes: 1, sha256: SHA}]}
    const problems = manifestProblems(bad)
    expect(problems).toContain('services.postgres.files[1].file: not a plain file name')
    expect(problems).toContain('services.postgres.files[1].sha256: not a sha256')
    expect(problems.some((p) => p.startsWith('services.weird.strategy: unknown strategy'))).toBe(true)
  })
  it('names the format and missing fields', () => {
    expect(manifestProblems(null)).toEqual(['not a JSON object'])
    expect(manifestProblems({...manifest('20261121T120000Z'), format: 2})[0]).toMatch(/format 2/)
    expect(manifestProblems({...manifest('nope')})).toContain('id: not a backup id')
  })
})

describe('BackupStore', () => {
  const root = (): string => join(mkdtempSync(join(tmpdir(), 'tta-bk-')), 'backups')

  it('writes files 0600 under a .partial name, lists a backup only once its manifest is there', async () => {
    const store = new BackupStore(root())
    const pending = store.begin(new Date(Date.UTC(2026, 10, 21, 12)))
    expect(pending.id).toBe('20261121T120000Z')
    expect(statSync(store.root).mode & 0o777).toBe(0o700)
    expect(statSync(pending.dir).mode & 0o777).toBe(0o700)
    expect(readFileSync(join(store.root, '.gitignore'), 'utf8')).toMatch(/^\*$/m)
    const sink = pending.sink('postgres.tta.pgdump')
    await new Promise<void>((resolve, reject) => sink.stream.end(Buffer.from('abc'), () => resolve()).on('error', reject))
    expect(readdirSync(pending.dir).sort()).toEqual(['.tta-backup.lock', 'postgres.tta.pgdump.partial'])
    expect(store.list()).toEqual([])
    sink.commit()
    expect(statSync(join(pending.dir, 'postgres.tta.pgdump')).mode & 0o777).toBe(0o600)
    expect(store.list()).toEqual([])
    pending.commit(manifest(pending.id))
    expect(readdirSync(pending.dir).sort()).toEqual(['manifest.json', 'postgres.tta.pgdump'])
    expect(statSync(join(pending.dir, 'manifest.json')).mode & 0o777).toBe(0o600)
    expect(store.list().map((b) => b.id)).toEqual([pending.id])
    expect(store.get('latest', 'tta').manifest.services.postgres?.files[0]?.database).toBe('tta')
  })

  it('a sink discarded before its file has even opened leaves no file behind, then or later (the directory can go)', async () => {
    const store = new BackupStore(root())
    const pending = store.begin(new Date(Date.UTC(2026, 10, 21, 13)))
    // The open is still under way: a destroy alone lets it create the file after the removal.
    await pending.sink('files.tar').discard()
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(readdirSync(pending.dir)).toEqual(['.tta-backup.lock'])
    pending.abandon()
    expect(existsSync(pending.dir)).toBe(false)
  })

  it('gives a second backup in the same second its own id', () => {
    const store = new BackupStore(root())
    const at = new Date(Date.UTC(2026, 10, 21, 12))
    expect(store.begin(at).id).toBe('20261121T120000Z')
    expect(store.begin(at).id).toBe('20261121T120000Z-2')
  })

  it('filters by project, resolves latest, and says what exists when an id is unknown (exit 2)', () => {
    const store = new BackupStore(root())
    for (const [id, project] of [['20261120T120000Z', 'tta'], ['20261121T120000Z', 'tta'], ['20261122T120000Z', 'other']] as const) {
      mkdirSync(join(store.root, id), {recursive: true})
      writeFileSync(join(store.root, id, 'manifest.json'), JSON.stringify(manifest(id, project)))
    }
    expect(store.list('tta').map((b) => b.id)).toEqual(['20261120T120000Z', '20261121T120000Z'])
    expect(store.get('latest', 'tta').id).toBe('20261121T120000Z')
    expect(() => store.get('20261119T120000Z', 'tta')).toThrow(expect.objectContaining({exitCode: 2, hint: expect.stringContaining('20261121T120000Z')}))
    expect(() => store.get('20261122T120000Z', 'tta')).toThrow(/belongs to project other/)
    expect(() => store.get('../../etc', 'tta')).toThrow(expect.objectContaining({exitCode: 2}))
  })

  it('flags an unreadable or tampered manifest instead of trusting it', () => {
    const store = new BackupStore(root())
    mkdirSync(join(store.root, '20261121T120000Z'), {recursive: true})
    writeFileSync(join(store.root, '20261121T120000Z', 'manifest.json'), '{"format": 1, trunc')
    mkdirSync(join(store.root, '20261122T120000Z'), {recursive: true})
    writeFileSync(join(store.root, '20261122T120000Z', 'manifest.json'), JSON.stringify(manifest('20261101T000000Z')))
    const listed = store.list()
    expect(listed.map((b) => [b.id, b.manifest === undefined])).toEqual([['20261121T120000Z', true], ['20261122T120000Z', true]])
    expect(listed[1]?.problems?.[0]).toMatch(/does not match its directory/)
    expect(() => store.get('20261121T120000Z', 'tta')).toThrow(/unreadable manifest/)
  })

  it('finds unfinished backups whose writer died, never a live one or a finished one', () => {
    const store = new BackupStore(root())
    const dead = store.begin(new Date(Date.UTC(2026, 10, 21, 12)))
    const live = store.begin(new Date(Date.UTC(2026, 10, 21, 13)))
    const done = store.begin(new Date(Date.UTC(2026, 10, 21, 14)))
    done.commit(manifest(done.id))
    writeFileSync(join(dead.dir, '.tta-backup.lock'), JSON.stringify({pid: 999_999_999, host: JSON.parse(readFileSync(join(live.dir, '.tta-backup.lock'), 'utf8')).host, started: ''}))
    expect(store.abandoned()).toEqual([dead.id])
    expect(store.abandoned(() => false).sort()).toEqual([dead.id, live.id])
    // A lock-less directory is left alone for a day.
    const bare = join(store.root, '20261120T000000Z')
    mkdirSync(bare)
    expect(store.abandoned(() => true)).toEqual([])
    utimesSync(bare, new Date(Date.now() - 2 * 86_400_000), new Date(Date.now() - 2 * 86_400_000))
    expect(store.abandoned(() => true)).toEqual(['20261120T000000Z'])
    store.remove(dead.id)
    expect(existsSync(dead.dir)).toBe(false)
    expect(() => store.remove('..')).toThrow(/not a backup id/)
  })

  it('records a verification next to the manifest', () => {
    const store = new BackupStore(root())
    const pending = store.begin(new Date(Date.UTC(2026, 10, 21, 12)))
    pending.commit(manifest(pending.id))
    store.writeVerify(pending.id, {at: '2026-11-21T13:00:00.000Z', ok: true, detail: 'fine'})
    expect(store.list()[0]?.verify).toEqual({at: '2026-11-21T13:00:00.000Z', ok: true, detail: 'fine'})
  })
})
