import {existsSync, mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

/**
 * `<workspace>/.tta/`: tta's state local to one checkout (deploy history, caches, default
 * backups). It ignores itself in git, so nothing tta writes makes the tree dirty (which
 * `tta deploy` refuses).
 */
export function stateDir(root: string): string {
  const dir = join(root, '.tta')
  mkdirSync(dir, {recursive: true, mode: 0o700})
  const ignore = join(dir, '.gitignore')
  if (!existsSync(ignore)) writeFileSync(ignore, '# tta state (deploy history, caches, ...): local to this checkout\n*\n')
  return dir
}
