// Security default: backups are readable by their owner only. The store creates every directory
// 0700 and every file 0600 by itself, whatever the umask. (test/e2e/backup.test.ts checks the same
// on a real backup of postgres, redis and neo4j.)
import {existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {finished} from 'node:stream/promises'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {MANIFEST_FORMAT, type Manifest} from '../../../src/backup/manifest.js'
import {BackupStore} from '../../../src/backup/store.js'

describe('backup file modes', () => {
  let umask = 0
  beforeEach(() => {
    umask = process.umask(0)
  })
  afterEach(() => {
    process.umask(umask)
  })

  it('0700 directories (the backup root included), 0600 files, under umask 000', async () => {
    const root = join(mkdtempSync(join(tmpdir(), 'tta-bkp-')), 'nested', 'backups')
    const store = new BackupStore(root)
    const pending = store.begin(new Date('2026-11-21T22:48:00Z'))
    const sink = pending.sink('postgres.tta.dump')
    sink.stream.end('dump bytes')
    await finished(sink.stream)
    sink.commit()
    const manifest: Manifest = {format: MANIFEST_FORMAT, id: pending.id, tta: '0.0.0', project: 'p', reason: 'manual', started: '2026-11-21T22:48:00Z', finished: '2026-11-21T22:48:01Z', complete: true, services: {}, failed: [], skipped: []}
    pending.commit(manifest)

    const mode = (path: string): string => (statSync(path).mode & 0o777).toString(8)
    expect(mode(root)).toBe('700')
    expect(mode(join(root, '..'))).toBe('700')
    expect(mode(pending.dir)).toBe('700')
    for (const file of readdirSync(pending.dir)) expect(`${file} ${mode(join(pending.dir, file))}`).toBe(`${file} 600`)
    expect(readdirSync(pending.dir).sort()).toEqual(['manifest.json', 'postgres.tta.dump'])
    expect(mode(join(root, '.gitignore'))).toBe('600')
  })
})

describe('the backup directory .gitignore', () => {
  const ignoreOf = (dir: string): string | undefined => (existsSync(join(dir, '.gitignore')) ? readFileSync(join(dir, '.gitignore'), 'utf8') : undefined)

  it('is written into a directory tta creates, and into an empty one', () => {
    const created = join(mkdtempSync(join(tmpdir(), 'tta-bkp-')), 'backups')
    new BackupStore(created, {workspaceRoot: join(created, '..')}).begin(new Date())
    expect(ignoreOf(created)).toMatch(/^\*$/m)
    const empty = mkdtempSync(join(tmpdir(), 'tta-bkp-'))
    new BackupStore(empty).begin(new Date())
    expect(ignoreOf(empty)).toMatch(/^\*$/m)
  })

  it('is never written into the workspace root (backup.dir: .), even an empty one: git would stop seeing the repository', () => {
    const workspace = mkdtempSync(join(tmpdir(), 'tta-bkp-ws-'))
    new BackupStore(workspace, {workspaceRoot: workspace}).begin(new Date())
    expect(ignoreOf(workspace)).toBeUndefined()
    // The backup itself is still made.
    expect(readdirSync(workspace).filter((name) => /^\d{8}T\d{6}Z/.test(name))).toHaveLength(1)
  })

  it('is never written into a checkout or an existing directory with other content, and a user .gitignore is kept', () => {
    const checkout = mkdtempSync(join(tmpdir(), 'tta-bkp-git-'))
    mkdirSync(join(checkout, '.git'))
    new BackupStore(checkout).begin(new Date())
    expect(ignoreOf(checkout)).toBeUndefined()

    const shared = mkdtempSync(join(tmpdir(), 'tta-bkp-shared-'))
    writeFileSync(join(shared, 'notes.txt'), 'mine\n')
    new BackupStore(shared).begin(new Date())
    expect(ignoreOf(shared)).toBeUndefined()

    const own = mkdtempSync(join(tmpdir(), 'tta-bkp-own-'))
    writeFileSync(join(own, '.gitignore'), '!keep-me\n')
    new BackupStore(own).begin(new Date())
    expect(ignoreOf(own)).toBe('!keep-me\n')
  })
})
