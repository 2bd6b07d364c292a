import type {Manifest, VerifyRecord} from './manifest.js'
import type {BackupStore, StoredBackup} from './store.js'

/** One backup as `tta backup --list --json` and the dashboard show it. */
export interface BackupListEntry {
  id: string
  dir: string
  /** Absent when the manifest does not read; `problems` says why. */
  project?: string
  reason?: string
  /** 'auto' for the safety snapshots tta takes before it deletes or overwrites data. */
  label?: string | null
  started?: string
  finished?: string
  complete?: boolean
  bytes?: number
  services?: Record<string, {strategy: string; bytes: number; files: number}>
  failed?: Manifest['failed']
  verified?: VerifyRecord | null
  problems?: string[]
}

export function totalBytes(m: Manifest): number {
  return Object.values(m.services).reduce((sum, e) => sum + e.bytes, 0)
}

export function backupListEntry(b: StoredBackup): BackupListEntry {
  const m = b.manifest
  if (!m) return {id: b.id, dir: b.dir, problems: b.problems}
  return {
    id: b.id,
    dir: b.dir,
    project: m.project,
    reason: m.reason,
    label: m.label ?? null,
    started: m.started,
    finished: m.finished,
    complete: m.complete,
    bytes: totalBytes(m),
    services: Object.fromEntries(Object.entries(m.services).map(([s, e]) => [s, {strategy: e.strategy, bytes: e.bytes, files: e.files.length}])),
    failed: m.failed,
    verified: b.verify ?? null,
  }
}

/** The project's backups, newest first. */
export function listBackups(store: BackupStore, project: string): BackupListEntry[] {
  return store.list(project).reverse().map(backupListEntry)
}
