// backup, restore and verify against the in-memory engine (test/support/fake-docker.ts), with the
// volume strategy (archive API read, one-off container to unpack): what a failing dump leaves
// (nothing listed), the checksum refusal before anything changes, the safety backup first, and a
// failing restore that keeps the data's way back and starts the dependents again.
import {mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {applyRetention, backup} from '../../../src/backup/backup.js'
import type {BackupEvent} from '../../../src/backup/events.js'
import {checksumsOrRefuse, planRestore, restore} from '../../../src/backup/restore.js'
import {BackupStore} from '../../../src/backup/store.js'
import {InterruptedError, sweepOneOffs} from '../../../src/backup/streams.js'
import {verifyBackup} from '../../../src/backup/verify.js'
import type {EngineConnection} from '../../../src/docker/client.js'
import {FakeDocker, tarOf, type FakeBehaviour, type FakeRun} from '../../support/fake-docker.js'

const PROJECT = 'bk'
let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tta-backup-'))
})
afterEach(() => rmSync(dir, {recursive: true, force: true}))

/** Entries in a tar stream, as `find | wc -l` would count them after unpacking it. */
function tarEntries(tar: Buffer): number {
  let count = 0
  for (let offset = 0; offset + 512 <= tar.length; ) {
    const header = tar.subarray(offset, offset + 512)
    if (header.every((b) => b === 0)) break
    count++
    offset += 512 + Math.ceil(parseInt(header.subarray(124, 136).toString(), 8) / 512) * 512
  }
  return count
}

async function stack(behave: Record<string, FakeBehaviour> = {}) {
  const fake = new FakeDocker((service) => behave[service] ?? {})
  fake.images.set('files:1', {id: 'sha256:files1'})
  fake.images.set('web:1', {id: 'sha256:web1'})
  const labels = (service: string, extra: Record<string, string> = {}) => ({'com.docker.compose.project': PROJECT, 'com.docker.compose.service': service, 'com.docker.compose.container-number': '1', 'com.docker.compose.oneoff': 'False', ...extra})
  const files = await fake.createContainer({name: 'bk-files-1', Image: 'files:1', Labels: labels('files'), HostConfig: {Mounts: [{Type: 'volume', Source: 'bk_files', Target: '/data'}]}})
  await files.start()
  const web = await fake.createContainer({name: 'bk-web-1', Image: 'web:1', Labels: labels('web', {'com.docker.compose.depends_on': 'files:service_started:true'})})
  await web.start()
  fake.archives.set('files:/data', {'data/': '', 'data/a.txt': 'alpha', 'data/b.txt': 'beta'})
  fake.log.length = 0
  const conn = {engine: fake.engine, endpoint: {host: 'unix:///fake.sock'}} as EngineConnection
  const store = new BackupStore(join(dir, 'backups'))
  const events: BackupEvent[] = []
  const emit = (e: BackupEvent): void => void events.push(e)
  const take = (reason = 'manual') => backup({conn, project: PROJECT, store, reason, ttaVersion: 'test', readyTimeoutMs: 2_000, emit})
  return {fake, conn, store, events, emit, take}
}

/** A one-off that unpacks what it is sent and prints the entry count (the volume strategy's UNPACK / EXTRACT). */
const unpacker = (runs: FakeRun[], exitCode = 0, stderr = '') => ({
  run: (r: FakeRun) => {
    runs.push(r)
    return {exitCode, stdout: `${tarEntries(r.stdin)}\n`, stderr}
  },
})

describe('backup (fake engine, volume strategy)', () => {
  it('copies a volume through the archive API, pausing the service meanwhile; the manifest\'s sha256 is the file\'s', async () => {
    const {fake, store, take} = await stack()
    const {manifest, dir: backupDir} = await take()
    expect(manifest.complete).toBe(true)
    expect(manifest.skipped).toEqual([{service: 'web', reason: 'no data (no database image, no named volume)'}])
    const entry = manifest.services.files
    expect(entry?.strategy).toBe('volume')
    expect(entry?.files).toMatchObject([{file: 'files.files.tar', volume: 'bk_files', mount: '/data', entries: 3}])
    const bytes = readFileSync(join(backupDir, 'files.files.tar'))
    expect(bytes.equals(tarOf({'data/': '', 'data/a.txt': 'alpha', 'data/b.txt': 'beta'}))).toBe(true)
    const {createHash} = await import('node:crypto')
    expect(entry?.files[0]?.sha256).toBe(createHash('sha256').update(bytes).digest('hex'))
    expect(fake.log).toEqual(['pause files', 'unpause files'])
    expect(store.list(PROJECT).map((b) => b.id)).toEqual([manifest.id])
  })

  it('a dump that fails leaves nothing listed and no partial directory, and names the service', async () => {
    const {fake, store, take} = await stack()
    fake.archives.clear()
    const error = await take().catch((e: unknown) => e)
    expect((error as Error).message).toBe('backup failed: files: Could not find the file /data in container bk-files-1')
    expect(store.list(PROJECT)).toEqual([])
    expect(readdirSync(join(dir, 'backups')).filter((f) => !f.startsWith('.'))).toEqual([])
    // The service is not left paused.
    expect(fake.log).toEqual(['pause files', 'unpause files'])
  })

  it('an unknown service is bad input listing the ones with containers; nothing to back up is a failure', async () => {
    const {conn, store, emit} = await stack()
    const unknown = await backup({conn, project: PROJECT, store, services: ['nope'], reason: 'manual', ttaVersion: 'test', readyTimeoutMs: 1000, emit}).catch((e: unknown) => e)
    expect(unknown).toMatchObject({message: 'no container for nope in project bk', exitCode: 2, hint: 'services with containers: files, web'})
    const nothing = await backup({conn, project: PROJECT, store, services: ['web'], reason: 'manual', ttaVersion: 'test', readyTimeoutMs: 1000, emit}).catch((e: unknown) => e)
    expect((nothing as Error).message).toBe('nothing to back up in project bk: web no data (no database image, no named volume)')
  })

  it('retention keeps the newest N and removes the rest from the listing', async () => {
    const {store, take} = await stack()
    const ids: string[] = []
    for (let i = 0; i < 3; i++) {
      // Backup ids have second resolution: a second one within it gets a suffix.
      ids.push((await take()).manifest.id)
    }
    expect(new Set(ids).size).toBe(3)
    const result = applyRetention(store, PROJECT, {keep: 1}, () => Date.now())
    expect(result.removed.map((r) => r.id).sort()).toEqual(ids.slice(0, 2).sort())
    expect(store.list(PROJECT).map((b) => b.id)).toEqual([ids[2]])
  })
})

describe('restore (fake engine, volume strategy)', () => {
  it('refuses a backup whose file does not match its checksum before anything changes', async () => {
    const {fake, conn, store, take, emit} = await stack()
    const {manifest, dir: backupDir} = await take()
    const file = join(backupDir, 'files.files.tar')
    const bytes = readFileSync(file)
    bytes[600] = bytes[600] === 0x41 ? 0x42 : 0x41
    writeFileSync(file, bytes)
    const plan = await planRestore(conn, PROJECT, store.get(manifest.id, PROJECT), [])
    fake.log.length = 0
    const error = await checksumsOrRefuse(plan, emit).catch((e: unknown) => e)
    expect((error as Error).message).toMatch(/^backup \S+ is damaged, refusing to restore it \(nothing was changed\):\n {2}files\.files\.tar sha256 \w{12}… does not match the manifest's \w{12}…$/)
    expect(fake.log).toEqual([])
  })

  it('takes a safety backup first, stops the dependent, unpacks the backup\'s bytes into the volume and starts everything again', async () => {
    const runs: FakeRun[] = []
    const {fake, conn, store, take, emit} = await stack({files: unpacker(runs)})
    const {manifest, dir: backupDir} = await take()
    const plan = await planRestore(conn, PROJECT, store.get(manifest.id, PROJECT), ['files'])
    expect(plan.dependents.map((d) => d.service)).toEqual(['web'])
    await checksumsOrRefuse(plan, emit)
    fake.log.length = 0
    const outcome = await restore(plan, {conn, project: PROJECT, store, safetyBackup: true, ttaVersion: 'test', readyTimeoutMs: 2_000, emit})
    expect(outcome.services).toMatchObject([{service: 'files', ok: true, detail: '/data: 3 entries; files ready'}])
    expect(outcome.restartProblems).toEqual([])
    // Safety backup (pause/unpause) before anything is stopped; the dependent stopped first, started last.
    expect(fake.log.filter((l) => !l.endsWith('-restore'))).toEqual(['pause files', 'unpause files', 'stop web', 'stop files', 'create files', 'start files', 'remove files', 'start files', 'start web'])
    expect(runs).toHaveLength(1)
    expect(runs[0]?.oneoff).toBe(true)
    expect(runs[0]?.stdin.equals(readFileSync(join(backupDir, 'files.files.tar')))).toBe(true)
    expect(runs[0]?.env).toEqual(['TTA_ROOT=/tta-restore', 'TTA_BASE=data'])
    // The one-off is gone; the safety backup is listed beside the restored one.
    expect([...fake.containers.values()].map((c) => `${c.name}:${c.status}`).sort()).toEqual(['bk-files-1:running', 'bk-web-1:running'])
    const listed = store.list(PROJECT)
    expect(listed.map((b) => b.id)).toContain(outcome.safetyBackup)
    expect(listed.find((b) => b.id === outcome.safetyBackup)?.manifest?.reason).toBe(`before restore of ${manifest.id}`)
  })

  it('a strategy that fails reports it, keeps the safety backup, and still starts the dependent again', async () => {
    const runs: FakeRun[] = []
    const {fake, conn, store, take, emit} = await stack({files: unpacker(runs, 2, 'tar: /tta-restore/data: Cannot open: Permission denied')})
    const {manifest} = await take()
    const plan = await planRestore(conn, PROJECT, store.get(manifest.id, PROJECT), [])
    const outcome = await restore(plan, {conn, project: PROJECT, store, safetyBackup: true, ttaVersion: 'test', readyTimeoutMs: 2_000, emit})
    expect(outcome.services).toMatchObject([{service: 'files', ok: false}])
    expect(outcome.services[0]?.detail).toBe('unpacking files.files.tar (the image files:1 needs sh and tar) failed (exit 2): tar: /tta-restore/data: Cannot open: Permission denied')
    expect(outcome.safetyBackup).toBeDefined()
    expect(store.list(PROJECT).some((b) => b.id === outcome.safetyBackup)).toBe(true)
    expect(fake.containers.size).toBe(2)
    expect([...fake.containers.values()].find((c) => c.name === 'bk-web-1')?.status).toBe('running')
  })

  it('an interrupt while unpacking stops the restore, removes the one-off and still starts the dependent again', async () => {
    const controller = new AbortController()
    // The unpacking never finishes on its own.
    const {fake, conn, store, take, emit} = await stack({files: {run: () => new Promise(() => undefined)}})
    const {manifest} = await take()
    const plan = await planRestore(conn, PROJECT, store.get(manifest.id, PROJECT), [])
    const restoring = restore(plan, {conn, project: PROJECT, store, safetyBackup: false, ttaVersion: 'test', readyTimeoutMs: 2_000, emit, signal: controller.signal})
    setTimeout(() => controller.abort(), 50)
    await expect(restoring).rejects.toBeInstanceOf(InterruptedError)
    expect([...fake.containers.values()].map((c) => `${c.name}:${c.status}`).sort()).toEqual(['bk-files-1:exited', 'bk-web-1:running'])
  })

  it('a restored volume whose entry count differs from the backup\'s fails the check', async () => {
    const {conn, store, take, emit} = await stack({files: {run: () => ({exitCode: 0, stdout: '1\n'})}})
    const {manifest} = await take()
    const plan = await planRestore(conn, PROJECT, store.get(manifest.id, PROJECT), [])
    const outcome = await restore(plan, {conn, project: PROJECT, store, safetyBackup: false, ttaVersion: 'test', readyTimeoutMs: 2_000, emit})
    expect(outcome.services[0]).toMatchObject({ok: false, detail: 'restored, but the check failed: bk_files: 1 entries, the backup had 3'})
    expect(outcome.safetyBackup).toBeUndefined()
  })

  it('a service the backup does not have is bad input; one without a container cannot be restored into', async () => {
    const {fake, conn, store, take} = await stack()
    const {manifest} = await take()
    const stored = store.get(manifest.id, PROJECT)
    await expect(planRestore(conn, PROJECT, stored, ['web'])).rejects.toMatchObject({message: `backup ${manifest.id} has no web`, exitCode: 2})
    for (const c of [...fake.containers.values()]) if (c.name === 'bk-files-1') fake.containers.delete(c.id)
    await expect(planRestore(conn, PROJECT, stored, [])).rejects.toMatchObject({message: 'no container for files in project bk: restore needs the service\'s container and volumes'})
  })
})

describe('verify (fake engine, volume strategy)', () => {
  it('loads each file into a throwaway container of the image; a damaged file fails on checksums and runs nothing', async () => {
    const runs: FakeRun[] = []
    const {conn, store, take, emit} = await stack({files: unpacker(runs)})
    const {manifest, dir: backupDir} = await take()
    const ok = await verifyBackup({conn, store, backup: store.get(manifest.id, PROJECT), readyTimeoutMs: 2_000, emit})
    expect(ok).toMatchObject({ok: true, checksums: [], services: [{service: 'files', ok: true, detail: 'unpacked in a throwaway files:1: /data: 3 entries'}]})
    expect(runs).toHaveLength(1)
    writeFileSync(join(backupDir, 'files.files.tar'), 'short')
    const bad = await verifyBackup({conn, store, backup: store.get(manifest.id, PROJECT), readyTimeoutMs: 2_000, emit})
    expect(bad.ok).toBe(false)
    expect(bad.checksums).toEqual([expect.stringMatching(/^files\.files\.tar has 5 bytes, the manifest says \d+$/)])
    expect(runs).toHaveLength(1)
    expect(store.get(manifest.id, PROJECT).verify).toMatchObject({ok: false})
  })

  it('sweeps one-offs a killed run left (exited or created), never running ones', async () => {
    const {fake, conn} = await stack()
    const oneoff = (name: string) => fake.createContainer({name, Image: 'files:1', Labels: {'com.docker.compose.project': PROJECT, 'com.docker.compose.service': 'files', 'dev.tta.backup': 'restore'}})
    await oneoff('left-created')
    const running = await oneoff('still-running')
    await running.start()
    expect(await sweepOneOffs(conn.engine, PROJECT)).toBe(1)
    expect([...fake.containers.values()].map((c) => c.name).sort()).toEqual(['bk-files-1', 'bk-web-1', 'still-running'])
  })
})
