import {existsSync, statSync} from 'node:fs'
import {dirname, join, resolve} from 'node:path'

import {ExitCode, TtaError} from '../errors.js'
// Type only: finding the root must not load the YAML parser (tta status reads a cached config).
import type {WorkspaceConfig} from './config.js'

export const WORKSPACE_CONFIG_FILE = 'tta.config.yaml'

export interface Workspace {
  root: string
  /** How the root was found, for `--verbose` and `tta doctor`. */
  foundBy: 'flag' | 'config' | 'git' | 'cwd'
  config: WorkspaceConfig
  envFile: string
}

/**
 * Workspace root (DESIGN.md): `--workspace`, else the nearest ancestor holding tta.config.yaml,
 * else the git root, else cwd.
 */
export function findWorkspaceRoot(cwd: string, explicit?: string): Pick<Workspace, 'root' | 'foundBy'> {
  if (explicit) {
    const root = resolve(cwd, explicit)
    if (!existsSync(root) || !statSync(root).isDirectory()) {
      throw new TtaError(`workspace directory not found: ${root}`, ExitCode.badInput, 'pass an existing directory to --workspace')
    }
    return {root, foundBy: 'flag'}
  }
  const configDir = nearestAncestor(cwd, (dir) => existsSync(join(dir, WORKSPACE_CONFIG_FILE)))
  if (configDir) return {root: configDir, foundBy: 'config'}
  const gitDir = nearestAncestor(cwd, (dir) => existsSync(join(dir, '.git')))
  if (gitDir) return {root: gitDir, foundBy: 'git'}
  return {root: resolve(cwd), foundBy: 'cwd'}
}

function nearestAncestor(start: string, test: (dir: string) => boolean): string | undefined {
  let dir = resolve(start)
  for (;;) {
    if (test(dir)) return dir
    const parent = dirname(dir)
    if (parent === dir) return undefined
    dir = parent
  }
}
