import {mkdirSync, mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {applyRetention} from '../../../src/backup/backup.js'
import {autoSnapshots, majorChange, majorVersion, pruneAutoSnapshots} from '../../../src/backup/auto.js'
import {BackupStore} from '../../../src/backup/store.js'

function store(): BackupStore {
  return new BackupStore(mkdtempSync(join(tmpdir(), 'tta-auto-')))
}

/** Writes a minimal valid manifest for a backup id. */
function put(s: BackupStore, id: string, label?: string): void {
  const dir = join(s.root, id)
  mkdirSync(dir, {recursive: true})
  const started = `${id.slice(0, 4)}-${id.slice(4, 6)}-${id.slice(6, 8)}T${id.slice(9, 11)}:${id.slice(11, 13)}:${id.slice(13, 15)}Z`
  const manifest = {format: 1, id, tta: '0.1.0', project: 'p', reason: label ? 'before clean --volumes' : 'manual', ...(label ? {label} : {}), started, finished: started, complete: true, services: {}, failed: [], skipped: []}
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest))
}

describe('auto snapshots', () => {
  it('keeps the last 3 auto snapshots, apart from normal retention', () => {
    const s = store()
    for (const id of ['20261201T000000Z', '20261202T000000Z', '20261203T000000Z', '20261204T000000Z']) put(s, id, 'auto')
    put(s, '20261201T120000Z')
    put(s, '20261202T120000Z')
    expect(pruneAutoSnapshots(s, 'p')).toEqual(['20261201T000000Z'])
    expect(autoSnapshots(s, 'p').map((b) => b.id)).toEqual(['20261202T000000Z', '20261203T000000Z', '20261204T000000Z'])
    // keep 1 of the manual backups: the auto snapshots are not counted nor removed.
    const removed = applyRetention(s, 'p', {keep: 1}, () => Date.parse('2026-12-05T00:00:00Z'))
    expect(removed.removed.map((r) => r.id)).toEqual(['20261201T120000Z'])
    expect(autoSnapshots(s, 'p')).toHaveLength(3)
  })

  it('tells a major-version change of a datastore image', () => {
    expect(majorVersion('postgres:15.5-alpine')).toBe(15)
    expect(majorVersion('registry:5000/prom/prometheus:v2.48.1')).toBe(2)
    expect(majorVersion('tta-standin/postgres:local')).toBeUndefined()
    expect(majorChange('postgres:15.5-alpine', 'postgres:16.1-alpine')).toBe(true)
    expect(majorChange('postgres:15.5-alpine', 'postgres:15.6')).toBe(false)
    expect(majorChange('redis:7.2.4-alpine', 'valkey:8')).toBe(true)
    expect(majorChange('tta-standin/postgres:local', 'tta-standin/postgres:local')).toBe(false)
  })
})
