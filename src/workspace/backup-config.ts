import {isMap, isScalar, type Node, type Pair} from 'yaml'

import {MAX_AGE_HELP, parseMaxAge} from '../backup/duration.js'
import {InputError} from '../errors.js'
import type {SourceDocument} from './yaml-source.js'

/** `backup:` in tta.config.yaml: defaults for `tta backup` (flags override them). */
export interface BackupConfig {
  /** Backup directory as written (relative to the workspace root unless absolute). */
  dir?: string
  keep?: number
  /** Milliseconds; null = no age limit (`maxAge: none`). */
  maxAgeMs?: number | null
}

const KEYS = ['dir', 'keep', 'maxAge']

/**
 * Parses `backup:`, collecting every problem with its position:
 *
 *   backup:
 *     dir: /mnt/backups/tta   # default <workspace>/.tta/backups
 *     keep: 10                # at most 10 backups (default: no count limit)
 *     maxAge: 14d             # remove older ones (default 7d; none = keep forever)
 */
export function parseBackupConfig(src: SourceDocument, node: Node | null | undefined, errors: InputError[]): BackupConfig {
  const config: BackupConfig = {}
  if (!isMap(node)) {
    errors.push(new InputError('must be a mapping (dir, keep, maxAge)', src.position(node), 'backup'))
    return config
  }
  for (const pair of node.items as Pair<Node, Node>[]) {
    const key = isScalar(pair.key) ? String(pair.key.value) : ''
    const keyPath = `backup.${key}`
    const value = isScalar(pair.value) ? pair.value.value : undefined
    switch (key) {
      case 'dir':
        if (typeof value === 'string' && value !== '') config.dir = value
        else errors.push(new InputError('must be a directory path', src.position(pair.value ?? pair.key), keyPath))
        break
      case 'keep':
        if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 1) config.keep = value
        else errors.push(new InputError('must be a whole number of backups, at least 1', src.position(pair.value ?? pair.key), keyPath))
        break
      case 'maxAge': {
        const ms = typeof value === 'string' ? parseMaxAge(value) : undefined
        if (ms !== undefined) config.maxAgeMs = ms
        else errors.push(new InputError(`must be ${MAX_AGE_HELP}`, src.position(pair.value ?? pair.key), keyPath))
        break
      }
      default:
        errors.push(new InputError(`unknown key "${key}" (supported: ${KEYS.join(', ')})`, src.position(pair.key), keyPath))
    }
  }
  return config
}
