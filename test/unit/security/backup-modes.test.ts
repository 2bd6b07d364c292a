// Security default: backups are readable by their owner only. The store creates every directory
// 0700 and every file 0600 by itself, whatever the umask. (test/e2e/backup.test.ts checks the same
// on a real backup of postgres, redis and neo4j.)
import {mkdtempSync, readdirSync, statSync} from 'node:fs'
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
