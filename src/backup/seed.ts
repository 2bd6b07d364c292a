import {existsSync, statSync} from 'node:fs'
import {basename, dirname, join, resolve} from 'node:path'

import {ExitCode, TtaError} from '../errors.js'
import {projectNameFor} from '../workspace/project-name.js'
import {openWorkspace} from '../workspace/workspace.js'
import {BACKUP_ID, MANIFEST_FILE, type Manifest} from './manifest.js'
import {backupSettings} from './settings.js'
import {BackupStore, type StoredBackup} from './store.js'

export type SeedBackup = StoredBackup & {manifest: Manifest}

/**
 * The backup `tta dev --from X` seeds from: a backup id of this workspace; a backup directory;
 * or another checkout, whose latest complete backup (of its own project, in its backup
 * directory) is taken. Anything else is bad input (exit 2) naming what was looked at.
 */
export function seedSource(from: string, options: {cwd: string; store: BackupStore}): SeedBackup {
  if (BACKUP_ID.test(from) && existsSync(join(options.store.root, from, MANIFEST_FILE))) return readable(options.store, from)
  const path = resolve(options.cwd, from)
  if (!existsSync(path) || !statSync(path).isDirectory()) {
    throw new TtaError(`--from ${from}: no backup ${from} in ${options.store.root}, and no directory ${path}`, ExitCode.badInput, 'pass another checkout\'s path, or a backup id from `tta backup --list`')
  }
  if (existsSync(join(path, MANIFEST_FILE))) return readable(new BackupStore(dirname(path)), basename(path))
  const workspace = openWorkspace(path)
  const project = projectNameFor({workspace})
  const store = new BackupStore(backupSettings(workspace, {}, path).dir)
  const latest = [...store.list(project)].reverse().find((b): b is SeedBackup => Boolean(b.manifest?.complete))
  if (!latest) {
    throw new TtaError(`--from ${from}: no complete backup of project ${project} in ${store.root}`, ExitCode.badInput, `take one there first: tta backup --workspace ${workspace.root}`)
  }
  return latest
}

function readable(store: BackupStore, id: string): SeedBackup {
  const entry = store.read(id)
  if (!entry.manifest) throw new TtaError(`backup ${id} has an unreadable manifest: ${(entry.problems ?? []).slice(0, 3).join('; ')}`, ExitCode.badInput)
  return entry as SeedBackup
}
