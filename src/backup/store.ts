import {closeSync, createWriteStream, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, type WriteStream} from 'node:fs'
import {hostname} from 'node:os'
import {join, resolve} from 'node:path'

import {ExitCode, TtaError} from '../errors.js'
import {BACKUP_ID, backupId, MANIFEST_FILE, manifestProblems, VERIFY_FILE, type Manifest, type VerifyRecord} from './manifest.js'

/**
 * The backup directory on disk: `<root>/<id>/` per backup, each file written as `NAME.partial`
 * and renamed when complete, `manifest.json` written last (fsync'd, then renamed). A directory
 * without a manifest is an unfinished or interrupted backup: never listed, never restored.
 */
const LOCK_FILE = '.tta-backup.lock'
const PARTIAL = '.partial'

export interface StoredBackup {
  id: string
  dir: string
  /** Absent when manifest.json does not parse or validate; `problems` says why. */
  manifest?: Manifest
  problems?: string[]
  verify?: VerifyRecord
}

export interface FileSink {
  /** The 0600 `.partial` file being written. */
  stream: WriteStream
  /** Renames the finished file to its final name (after the stream has finished). */
  commit(): void
  /** Deletes the partial file, once its stream has closed. */
  discard(): Promise<void>
}

interface LockInfo {
  pid: number
  host: string
  started: string
}

function fsyncPath(path: string): void {
  let fd: number | undefined
  try {
    fd = openSync(path, 'r')
    fsyncSync(fd)
  } catch {
    // Directory fsync is not possible everywhere; the rename itself is still atomic.
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}

/** A backup being written. */
export class PendingBackup {
  constructor(
    readonly id: string,
    readonly dir: string,
  ) {}

  sink(name: string): FileSink {
    const final = join(this.dir, name)
    const partial = final + PARTIAL
    const stream = createWriteStream(partial, {mode: 0o600, flags: 'wx', flush: true})
    return {
      stream,
      commit: () => {
        renameSync(partial, final)
      },
      discard: async () => {
        // An open still under way creates the file after a destroy: wait until the stream has
        // closed, or the file would appear after the removal (and in a directory being removed).
        if (!stream.closed) {
          const closed = new Promise<void>((resolve) => stream.once('close', () => resolve()))
          stream.destroy()
          await closed
        }
        rmSync(partial, {force: true})
      },
    }
  }

  /** Writes the manifest last and atomically: from here on the backup is listed. */
  commit(manifest: Manifest): void {
    const final = join(this.dir, MANIFEST_FILE)
    writeFileSync(final + PARTIAL, JSON.stringify(manifest, null, 2) + '\n', {mode: 0o600, flush: true})
    renameSync(final + PARTIAL, final)
    fsyncPath(this.dir)
    rmSync(join(this.dir, LOCK_FILE), {force: true})
  }

  /** Removes everything written so far. */
  abandon(): void {
    rmSync(this.dir, {recursive: true, force: true})
  }
}

/** Files that mark a directory as a checkout or a workspace, never to be hidden from git. */
const CHECKOUT_MARKERS = ['.git', 'tta.config.yaml']

/**
 * Whether tta may put its `*` .gitignore into the backup directory: only one it has just created,
 * or an empty one, never the workspace root or a checkout (`backup.dir: .` would hide the whole
 * repository from git) and never a directory holding anything else.
 */
export function mayIgnoreInGit(dir: string, createdNow: boolean, workspaceRoot?: string): boolean {
  if (workspaceRoot !== undefined && resolve(dir) === resolve(workspaceRoot)) return false
  if (createdNow) return true
  const entries = readdirSync(dir)
  return entries.length === 0 && !CHECKOUT_MARKERS.some((marker) => entries.includes(marker))
}

export class BackupStore {
  constructor(
    readonly root: string,
    private readonly options: {workspaceRoot?: string} = {},
  ) {}

  /** Claims a new backup directory (0700); the id is the UTC start time, suffixed if taken. */
  begin(started: Date): PendingBackup {
    const created = mkdirSync(this.root, {recursive: true, mode: 0o700}) !== undefined
    // Dumps hold the databases' data: keep them out of git when the directory is inside a checkout,
    // where tta owns the directory (see mayIgnoreInGit).
    const ignore = join(this.root, '.gitignore')
    if (!existsSync(ignore) && mayIgnoreInGit(this.root, created, this.options.workspaceRoot)) {
      writeFileSync(ignore, '# tta backups: database dumps, never commit them\n*\n', {mode: 0o600})
    }
    for (let attempt = 0; attempt < 100; attempt++) {
      const id = backupId(started, attempt)
      const dir = join(this.root, id)
      try {
        mkdirSync(dir, {mode: 0o700})
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') continue
        throw new TtaError(`cannot create the backup directory ${dir}: ${(error as Error).message}`, ExitCode.failed, 'check that --dir (or backup.dir) is writable')
      }
      const lock: LockInfo = {pid: process.pid, host: hostname(), started: started.toISOString()}
      writeFileSync(join(dir, LOCK_FILE), JSON.stringify(lock) + '\n', {mode: 0o600})
      return new PendingBackup(id, dir)
    }
    throw new TtaError(`cannot find a free backup id under ${this.root}`)
  }

  private ids(): string[] {
    if (!existsSync(this.root)) return []
    return readdirSync(this.root, {withFileTypes: true})
      .filter((d) => d.isDirectory() && BACKUP_ID.test(d.name))
      .map((d) => d.name)
      .sort()
  }

  /** Backups with a manifest (valid or not), oldest first; `project` filters valid ones by project. */
  list(project?: string): StoredBackup[] {
    const result: StoredBackup[] = []
    for (const id of this.ids()) {
      const dir = join(this.root, id)
      if (!existsSync(join(dir, MANIFEST_FILE))) continue
      const entry = this.read(id)
      if (project !== undefined && entry.manifest && entry.manifest.project !== project) continue
      result.push(entry)
    }
    return result
  }

  read(id: string): StoredBackup {
    const dir = join(this.root, id)
    const entry: StoredBackup = {id, dir}
    try {
      const parsed: unknown = JSON.parse(readFileSync(join(dir, MANIFEST_FILE), 'utf8'))
      const problems = manifestProblems(parsed)
      if (problems.length === 0 && (parsed as Manifest).id !== id) problems.push(`id ${(parsed as Manifest).id} does not match its directory ${id}`)
      if (problems.length > 0) entry.problems = problems
      else entry.manifest = parsed as Manifest
    } catch (error) {
      entry.problems = [`manifest.json: ${(error as Error).message}`]
    }
    try {
      const verify = JSON.parse(readFileSync(join(dir, VERIFY_FILE), 'utf8')) as VerifyRecord
      if (typeof verify.ok === 'boolean' && typeof verify.at === 'string') entry.verify = verify
    } catch {
      // Never verified.
    }
    return entry
  }

  /** A listed backup by id (`latest` = the newest of the project); exit 2 naming the ones there are. */
  get(id: string, project: string): StoredBackup & {manifest: Manifest} {
    const mine = this.list(project)
    const entry = id === 'latest' ? [...mine].reverse().find((b) => b.manifest) : BACKUP_ID.test(id) && existsSync(join(this.root, id, MANIFEST_FILE)) ? this.read(id) : undefined
    if (!entry) {
      const known = mine.map((b) => b.id)
      throw new TtaError(
        id === 'latest' ? `no backups of project ${project} in ${this.root}` : `no backup ${id} in ${this.root}`,
        ExitCode.badInput,
        known.length > 0 ? `newest backups of ${project}: ${known.slice(-5).reverse().join(', ')}${known.length > 5 ? ', …' : ''} (tta backup --list)` : 'take one with `tta backup`',
      )
    }
    if (!entry.manifest) {
      throw new TtaError(`backup ${entry.id} has an unreadable manifest: ${(entry.problems ?? []).slice(0, 3).join('; ')}`, ExitCode.failed, 'it cannot be restored safely; pick another backup (tta backup --list)')
    }
    if (entry.manifest.project !== project) {
      throw new TtaError(`backup ${entry.id} belongs to project ${entry.manifest.project}, not ${project}`, ExitCode.badInput, `pass --project-name ${entry.manifest.project} to restore it into that project`)
    }
    return entry as StoredBackup & {manifest: Manifest}
  }

  remove(id: string): void {
    if (!BACKUP_ID.test(id)) throw new Error(`refusing to remove ${id}: not a backup id`)
    rmSync(join(this.root, id), {recursive: true, force: true})
  }

  writeVerify(id: string, record: VerifyRecord): void {
    const file = join(this.root, id, VERIFY_FILE)
    writeFileSync(file + PARTIAL, JSON.stringify(record, null, 2) + '\n', {mode: 0o600})
    renameSync(file + PARTIAL, file)
  }

  /**
   * Unfinished backups whose writer is gone (a tta killed mid-dump on this host), safe to
   * delete. One still being written by a live process, or by another host, is left alone.
   */
  abandoned(isAlive: (pid: number) => boolean = processAlive): string[] {
    const result: string[] = []
    for (const id of this.ids()) {
      const dir = join(this.root, id)
      if (existsSync(join(dir, MANIFEST_FILE))) continue
      try {
        const lock = JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')) as LockInfo
        if (lock.host === hostname() && !isAlive(lock.pid)) result.push(id)
      } catch {
        // No lock: a foreign or very old directory; only clearly stale ones (a day) go.
        if (Date.now() - statSync(dir).mtimeMs > 86_400_000) result.push(id)
      }
    }
    return result
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}
