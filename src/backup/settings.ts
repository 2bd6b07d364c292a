import {isAbsolute, join, resolve} from 'node:path'

import {ExitCode, TtaError} from '../errors.js'
import type {Workspace} from '../workspace/workspace.js'
import {MAX_AGE_HELP, parseMaxAge} from './duration.js'
import type {RetentionPolicy} from './retention.js'

/** Where backups go and how long they stay: flags, else tta.config.yaml `backup:`, else the defaults. */
export interface BackupSettings {
  dir: string
  policy: RetentionPolicy
}

/** The old backup script kept 7 days; so does tta unless told otherwise. */
export const DEFAULT_MAX_AGE = '7d'

export function defaultBackupDir(workspaceRoot: string): string {
  return join(workspaceRoot, '.tta', 'backups')
}

export function backupSettings(workspace: Workspace, flags: {dir?: string; keep?: number; 'max-age'?: string}, cwd = process.cwd()): BackupSettings {
  const config = workspace.config.backup ?? {}
  const dir = flags.dir ? resolve(cwd, flags.dir) : config.dir ? (isAbsolute(config.dir) ? config.dir : resolve(workspace.root, config.dir)) : defaultBackupDir(workspace.root)
  let maxAgeMs: number | null | undefined = config.maxAgeMs !== undefined ? config.maxAgeMs : parseMaxAge(DEFAULT_MAX_AGE)
  if (flags['max-age'] !== undefined) {
    maxAgeMs = parseMaxAge(flags['max-age'])
    if (maxAgeMs === undefined) throw new TtaError(`--max-age ${flags['max-age']}: not a duration`, ExitCode.badInput, `use ${MAX_AGE_HELP}`)
  }
  return {dir, policy: {keep: flags.keep ?? config.keep, maxAgeMs}}
}
