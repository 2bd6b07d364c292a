/**
 * The backup manifest (`<backup>/manifest.json`): what was dumped, by which strategy and server,
 * with every file's size and sha256. Written last, so its presence means the backup is whole.
 * Pure: types, ids, validation of a manifest read back from disk.
 */
export const MANIFEST_FILE = 'manifest.json'
export const VERIFY_FILE = 'verify.json'
export const MANIFEST_FORMAT = 1

export const STRATEGIES = ['postgres', 'redis', 'neo4j', 'volume'] as const
export type StrategyName = (typeof STRATEGIES)[number]

export interface BackupFile {
  /** Name inside the backup directory. */
  file: string
  bytes: number
  sha256: string
  /** postgres / neo4j: the database this file holds. */
  database?: string
  /** postgres: rows per table (`schema.table`) in the dump's snapshot, checked after a restore. */
  rows?: Record<string, number>
  /** volume: the Docker volume and where the service mounts it. */
  volume?: string
  mount?: string
  /** volume: entries (files, directories, links) in the tar, checked after a restore. */
  entries?: number
}

export interface KeyspaceCount {
  keys: number
  expires: number
}

export interface ServiceBackup {
  strategy: StrategyName
  /** The image the service ran, and its id, at backup time. */
  image: string
  imageId: string
  serverVersion: string | null
  started: string
  finished: string
  /** Sum of the files' bytes. */
  bytes: number
  files: BackupFile[]
  /** postgres: the role the dump was taken as (owner of restored objects). */
  user?: string
  /** redis: keys per logical database (`db0`) when the dump was taken. */
  keyspace?: Record<string, KeyspaceCount>
  /** redis: false when keys changed while the dump ran, so the count is approximate. */
  keyspaceExact?: boolean
}

export interface Manifest {
  format: typeof MANIFEST_FORMAT
  id: string
  /** tta version that wrote it. */
  tta: string
  project: string
  /** Why it was taken: `manual`, `before restore of <id>`, `before clean`. */
  reason: string
  /** `auto`: a safety snapshot tta took by itself (before clean --volumes, a restore, a major upgrade); kept apart by retention. */
  label?: string
  started: string
  finished: string
  /** Every service it set out to back up succeeded. */
  complete: boolean
  services: Record<string, ServiceBackup>
  failed: Array<{service: string; error: string}>
  skipped: Array<{service: string; reason: string}>
}

export interface VerifyRecord {
  at: string
  ok: boolean
  detail: string
}

/** A backup id is its UTC start time, ISO basic format (`20261121T224800Z`), plus `-N` on collision. */
export function backupId(date: Date, attempt = 0): string {
  const stamp = date.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '')
  return attempt === 0 ? stamp : `${stamp}-${attempt + 1}`
}

export const BACKUP_ID = /^\d{8}T\d{6}Z(?:-\d+)?$/
const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/
const SERVICE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/
const SHA256 = /^[0-9a-f]{64}$/

/** A name safe to use as a file name component (database names can hold anything). */
export function safeComponent(text: string): string {
  const cleaned = text.replace(/[^A-Za-z0-9_-]+/g, '_').replace(/^_+/, '')
  return cleaned === '' ? 'x' : cleaned.slice(0, 64)
}

/** Unique file names: a second `a.tar` becomes `a-2.tar`. */
export function uniqueName(name: string, taken: Set<string>): string {
  let candidate = name
  for (let n = 2; taken.has(candidate); n++) {
    const dot = name.indexOf('.')
    candidate = dot < 0 ? `${name}-${n}` : `${name.slice(0, dot)}-${n}${name.slice(dot)}`
  }
  taken.add(candidate)
  return candidate
}

export function isBackupFileName(name: string): boolean {
  return FILE_NAME.test(name) && !name.includes('..') && name !== MANIFEST_FILE && name !== VERIFY_FILE && !name.endsWith('.partial')
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0
const isTime = (v: unknown): v is string => typeof v === 'string' && !Number.isNaN(Date.parse(v))

/**
 * Checks a parsed manifest.json. It names the files a restore will read and the databases it
 * will drop, so nothing in it is trusted blindly: file names must be plain names inside the
 * backup directory, hashes must be hashes. Returns the problems (empty when it is valid).
 */
export function manifestProblems(value: unknown): string[] {
  const problems: string[] = []
  if (!isObject(value)) return ['not a JSON object']
  if (value.format !== MANIFEST_FORMAT) problems.push(`format ${JSON.stringify(value.format)} (this tta reads format ${MANIFEST_FORMAT})`)
  if (typeof value.id !== 'string' || !BACKUP_ID.test(value.id)) problems.push('id: not a backup id')
  for (const key of ['tta', 'project', 'reason'] as const) if (typeof value[key] !== 'string') problems.push(`${key}: not a string`)
  for (const key of ['started', 'finished'] as const) if (!isTime(value[key])) problems.push(`${key}: not a time`)
  if (typeof value.complete !== 'boolean') problems.push('complete: not a boolean')
  if (!Array.isArray(value.failed) || !Array.isArray(value.skipped)) problems.push('failed/skipped: not lists')
  if (!isObject(value.services)) return [...problems, 'services: not a mapping']
  const files = new Set<string>()
  for (const [service, entry] of Object.entries(value.services)) {
    const at = `services.${service}`
    if (!SERVICE_NAME.test(service)) problems.push(`${at}: bad service name`)
    if (!isObject(entry)) {
      problems.push(`${at}: not a mapping`)
      continue
    }
    if (!STRATEGIES.includes(entry.strategy as StrategyName)) problems.push(`${at}.strategy: unknown strategy ${JSON.stringify(entry.strategy)}`)
    if (typeof entry.image !== 'string' || typeof entry.imageId !== 'string') problems.push(`${at}.image: not a string`)
    if (entry.serverVersion !== null && typeof entry.serverVersion !== 'string') problems.push(`${at}.serverVersion: not a string`)
    if (!isTime(entry.started) || !isTime(entry.finished)) problems.push(`${at}.started/finished: not a time`)
    if (!isCount(entry.bytes)) problems.push(`${at}.bytes: not a size`)
    if (entry.user !== undefined && typeof entry.user !== 'string') problems.push(`${at}.user: not a string`)
    if (entry.keyspace !== undefined) {
      if (!isObject(entry.keyspace) || !Object.values(entry.keyspace).every((k) => isObject(k) && isCount(k.keys) && isCount(k.expires))) {
        problems.push(`${at}.keyspace: not key counts`)
      }
    }
    if (!Array.isArray(entry.files) || entry.files.length === 0) {
      problems.push(`${at}.files: not a non-empty list`)
      continue
    }
    entry.files.forEach((f: unknown, i: number) => {
      const fat = `${at}.files[${i}]`
      if (!isObject(f)) return problems.push(`${fat}: not a mapping`)
      if (typeof f.file !== 'string' || !isBackupFileName(f.file)) problems.push(`${fat}.file: not a plain file name`)
      else if (files.has(f.file)) problems.push(`${fat}.file: listed twice`)
      else files.add(f.file)
      if (!isCount(f.bytes)) problems.push(`${fat}.bytes: not a size`)
      if (typeof f.sha256 !== 'string' || !SHA256.test(f.sha256)) problems.push(`${fat}.sha256: not a sha256`)
      for (const key of ['database', 'volume', 'mount'] as const) if (f[key] !== undefined && typeof f[key] !== 'string') problems.push(`${fat}.${key}: not a string`)
      if (f.entries !== undefined && !isCount(f.entries)) problems.push(`${fat}.entries: not a count`)
      if (f.rows !== undefined && (!isObject(f.rows) || !Object.values(f.rows).every(isCount))) problems.push(`${fat}.rows: not row counts`)
      if ((entry.strategy === 'postgres' || entry.strategy === 'neo4j') && typeof f.database !== 'string') problems.push(`${fat}.database: missing`)
      if (entry.strategy === 'volume' && (typeof f.mount !== 'string' || !f.mount.startsWith('/'))) problems.push(`${fat}.mount: missing`)
      return undefined
    })
  }
  return problems
}
