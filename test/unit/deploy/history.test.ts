import {mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {activeVersion, HISTORY_FILE, mergeHistory, readHistory, rollbackChoice, saveRecord, type DeployRecord} from '../../../src/deploy/history.js'

let n = 0
function rec(version: string, result: DeployRecord['result'], activeVersionAfter: string | undefined, extra: Partial<DeployRecord> = {}): DeployRecord {
  n += 1
  const at = new Date(Date.UTC(2026, 0, 1, 0, n)).toISOString()
  return {
    id: `id-${n}`,
    env: 'production',
    type: 'swarm',
    host: 'unix:///var/run/docker.sock',
    project: 'tta',
    action: 'deploy',
    version,
    result,
    activeVersion: activeVersionAfter,
    startedAt: at,
    finishedAt: at,
    by: 'me@here',
    images: {api: `reg/api:${version}`},
    changed: ['api'],
    ...extra,
  }
}

describe('rollbackChoice', () => {
  it('returns to the version that ran before the current one, skipping failed attempts', () => {
    const records = [rec('v1', 'succeeded', 'v1'), rec('v2', 'succeeded', 'v2'), rec('v3', 'rolled-back', 'v2')]
    const choice = rollbackChoice(records, 'production')
    expect(choice).toMatchObject({version: 'v1', images: {api: 'reg/api:v1'}})
  })
  it('goes back and forth on repeated rollbacks, like helm rollback', () => {
    const records = [rec('v1', 'succeeded', 'v1'), rec('v2', 'succeeded', 'v2'), rec('v1', 'succeeded', 'v1', {action: 'rollback'})]
    expect(rollbackChoice(records, 'production')).toMatchObject({version: 'v2'})
  })
  it('takes a named version only if it once deployed successfully', () => {
    const records = [rec('v1', 'succeeded', 'v1'), rec('v2', 'succeeded', 'v2'), rec('v3', 'rolled-back', 'v2')]
    expect(rollbackChoice(records, 'production', 'v1')).toMatchObject({version: 'v1'})
    expect(rollbackChoice(records, 'production', 'v3')).toEqual({problem: 'version v3 never deployed successfully to production'})
  })
  it('says why there is nothing to return to', () => {
    expect(rollbackChoice([], 'production')).toEqual({problem: 'no deployment of production is recorded'})
    expect(rollbackChoice([rec('v1', 'succeeded', 'v1')], 'production')).toMatchObject({problem: expect.stringContaining('only v1')})
    expect(rollbackChoice([rec('v1', 'succeeded', 'v1', {env: 'staging'})], 'production')).toMatchObject({problem: expect.stringContaining('no deployment')})
  })
  it('after an interrupted deployment, returns to the version that ran before it started', () => {
    const records = [rec('v1', 'succeeded', 'v1'), rec('v2', 'succeeded', 'v2'), rec('v3', 'interrupted', undefined, {previousVersion: 'v2'})]
    expect(activeVersion(records, 'production')).toBeUndefined()
    expect(rollbackChoice(records, 'production')).toMatchObject({version: 'v2', images: {api: 'reg/api:v2'}})
    // A later deployment settles it: the usual rule applies again.
    expect(rollbackChoice([...records, rec('v3', 'succeeded', 'v3')], 'production')).toMatchObject({version: 'v2'})
    expect(rollbackChoice([...records, rec('v4', 'succeeded', 'v4')], 'production')).toMatchObject({version: 'v2'})
  })
  it('ignores records that left the target in an unknown state', () => {
    const records = [rec('v1', 'succeeded', 'v1'), rec('v2', 'succeeded', 'v2'), rec('v3', 'failed', undefined)]
    expect(activeVersion(records, 'production')).toBeUndefined()
    expect(rollbackChoice(records, 'production')).toMatchObject({version: 'v1'})
  })
})

describe('workspace history file', () => {
  it('round-trips records, oldest first, and ignores itself in git', () => {
    const root = mkdtempSync(join(tmpdir(), 'tta-hist-'))
    const a = rec('v1', 'succeeded', 'v1')
    const b = rec('v2', 'rolled-back', 'v1')
    saveRecord(root, b)
    saveRecord(root, a)
    expect(readHistory(root).map((r) => r.version)).toEqual(['v1', 'v2'])
    expect(readFileSync(join(root, '.tta', '.gitignore'), 'utf8')).toMatch(/^\*$/m)
    // Saving a record again replaces it (by id).
    saveRecord(root, {...b, result: 'failed'})
    expect(readHistory(root).map((r) => r.result)).toEqual(['succeeded', 'failed'])
  })
  it('writes through a temporary file of its own: never through one left at a fixed name, none left behind', () => {
    const root = mkdtempSync(join(tmpdir(), 'tta-hist-'))
    mkdirSync(join(root, '.tta'))
    // What a concurrent deploy (or anyone who can write .tta/) could have put at a fixed temp name.
    const elsewhere = join(root, 'elsewhere.txt')
    writeFileSync(elsewhere, 'untouched\n')
    symlinkSync(elsewhere, join(root, `${HISTORY_FILE}.tmp`))
    saveRecord(root, rec('v1', 'succeeded', 'v1'))
    saveRecord(root, rec('v2', 'succeeded', 'v2'))
    expect(readFileSync(elsewhere, 'utf8')).toBe('untouched\n')
    expect(readHistory(root).map((r) => r.version)).toEqual(['v1', 'v2'])
    expect(readdirSync(join(root, '.tta')).filter((f) => f.startsWith('deploy-history.json.') && f !== 'deploy-history.json.tmp')).toEqual([])
  })
  it('names the file when it is damaged (exit 2)', () => {
    const root = mkdtempSync(join(tmpdir(), 'tta-hist-'))
    mkdirSync(join(root, '.tta'))
    writeFileSync(join(root, HISTORY_FILE), '{not json')
    expect(() => readHistory(root)).toThrow(expect.objectContaining({exitCode: 2, message: expect.stringContaining('deploy-history.json')}))
  })
  it('merges the workspace and target histories by id', () => {
    const a = rec('v1', 'succeeded', 'v1')
    const b = rec('v2', 'succeeded', 'v2')
    expect(mergeHistory([b], [a, b]).map((r) => r.id)).toEqual([a.id, b.id])
  })
})
