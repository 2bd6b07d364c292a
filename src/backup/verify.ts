import {createReadStream, existsSync, statSync} from 'node:fs'
import {join} from 'node:path'
import type {Readable} from 'node:stream'

import type {EngineConnection} from '../docker/client.js'
import type {BackupEmit} from './events.js'
import type {BackupFile, Manifest, ServiceBackup} from './manifest.js'
import type {BackupStore, StoredBackup} from './store.js'
import {STRATEGY} from './strategies/index.js'
import type {RestoreContext} from './strategies/types.js'
import {hashFile, HashCounter, sweepOneOffs} from './streams.js'
import type {Target} from './targets.js'

/**
 * Every file of the chosen services against the manifest: present, same size, same sha256.
 * Returns the problems (empty when all match); reads every byte.
 */
export async function checkFiles(backup: StoredBackup & {manifest: Manifest}, services: string[], emit: BackupEmit, signal?: AbortSignal): Promise<string[]> {
  const problems: string[] = []
  for (const service of services) {
    const entry = backup.manifest.services[service] as ServiceBackup
    for (const file of entry.files) {
      const path = join(backup.dir, file.file)
      if (!existsSync(path)) {
        problems.push(`${file.file} is missing`)
        continue
      }
      const size = statSync(path).size
      if (size !== file.bytes) {
        problems.push(`${file.file} has ${size} bytes, the manifest says ${file.bytes}`)
        continue
      }
      const t0 = Date.now()
      let last = 0
      const {sha256} = await hashFile(
        path,
        (bytes) => {
          if (Date.now() - last < 100) return
          last = Date.now()
          emit({type: 'progress', service, file: file.file, bytes, elapsedMs: Date.now() - t0})
        },
        signal,
      )
      if (sha256 !== file.sha256) problems.push(`${file.file} sha256 ${sha256.slice(0, 12)}… does not match the manifest's ${file.sha256.slice(0, 12)}…`)
    }
  }
  return problems
}

/** A read stream of a backup file that reports progress. */
export function openBackupFile(dir: string, service: string, file: BackupFile, emit: BackupEmit): Readable {
  const t0 = Date.now()
  let last = 0
  const counter = new HashCounter((bytes) => {
    if (Date.now() - last < 100) return
    last = Date.now()
    emit({type: 'progress', service, file: file.file, bytes, elapsedMs: Date.now() - t0})
  })
  const source = createReadStream(join(dir, file.file), {highWaterMark: 1 << 20})
  source.on('error', (error) => counter.destroy(error))
  return source.pipe(counter)
}

/** verify.ts needs a Target only for names; the stack itself is never touched. */
function detachedTarget(service: string, entry: ServiceBackup): Target {
  return {service, id: '', name: '', state: 'absent', image: entry.image, imageId: entry.imageId, env: {}, cmd: [], workingDir: '', labels: {}, volumes: [], strategy: entry.strategy}
}

export interface VerifyResult {
  ok: boolean
  checksums: string[]
  services: Array<{service: string; ok: boolean; detail: string}>
}

/**
 * `tta backup --verify ID`: checksums, then each service's files loaded into a throwaway
 * container of the image that made them. The result is recorded next to the manifest.
 */
export async function verifyBackup(options: {conn: EngineConnection; store: BackupStore; backup: StoredBackup & {manifest: Manifest}; readyTimeoutMs: number; emit: BackupEmit; signal?: AbortSignal}): Promise<VerifyResult> {
  const {backup, emit} = options
  const services = Object.keys(backup.manifest.services).sort()
  emit({type: 'note', message: 'checking sha256 of every file'})
  const checksums = await checkFiles(backup, services, emit, options.signal)
  const result: VerifyResult = {ok: checksums.length === 0, checksums, services: []}
  if (checksums.length === 0) {
    await sweepOneOffs(options.conn.engine, backup.manifest.project)
    for (const service of services) {
      const entry = backup.manifest.services[service] as ServiceBackup
      const t0 = Date.now()
      emit({type: 'service', service, phase: 'start', strategy: entry.strategy, detail: 'loading into a throwaway container'})
      const ctx: RestoreContext = {
        engine: options.conn.engine,
        project: backup.manifest.project,
        target: detachedTarget(service, entry),
        signal: options.signal,
        open: (file) => openBackupFile(backup.dir, service, file, emit),
        note: (message) => emit({type: 'note', service, message}),
        readyTimeoutMs: options.readyTimeoutMs,
      }
      try {
        await options.conn.engine.images.inspect(entry.image).catch(() => {
          throw new Error(`image ${entry.image} is not here (tta dev pulls or builds it)`)
        })
        const detail = await STRATEGY[entry.strategy].verify(ctx, entry)
        result.services.push({service, ok: true, detail})
        emit({type: 'service', service, phase: 'done', strategy: entry.strategy, detail, elapsedMs: Date.now() - t0})
      } catch (error) {
        if (options.signal?.aborted) throw error
        result.ok = false
        result.services.push({service, ok: false, detail: (error as Error).message})
        emit({type: 'service', service, phase: 'failed', strategy: entry.strategy, detail: (error as Error).message, elapsedMs: Date.now() - t0})
      }
    }
  }
  const detail = result.ok ? result.services.map((s) => `${s.service}: ${s.detail}`).join('; ') : [...checksums, ...result.services.filter((s) => !s.ok).map((s) => `${s.service}: ${s.detail}`)].join('; ')
  options.store.writeVerify(backup.id, {at: new Date().toISOString(), ok: result.ok, detail})
  return result
}
