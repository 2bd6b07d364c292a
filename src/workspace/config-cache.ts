import {chmodSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import type {WorkspaceConfig} from './config.js'
import {findWorkspaceRoot, WORKSPACE_CONFIG_FILE, type Workspace} from './root.js'
import {stateDir} from './state-dir.js'

const CACHE_VERSION = 1

interface CacheFile {
  version: typeof CACHE_VERSION
  key: string
  config: WorkspaceConfig
}

/**
 * tta's own code as built: this module's file (or the bundle holding it) is rewritten by every
 * build, so a new parser never reads an old cache.
 */
function parserStat(): string | undefined {
  try {
    const p = statSync(fileURLToPath(import.meta.url), {bigint: true})
    return `${p.size}|${p.mtimeNs}`
  } catch {
    return undefined
  }
}

/**
 * openWorkspace for the commands run many times an hour (`tta status`): tta.config.yaml as
 * parsed and validated last time, from `.tta/cache/config.json`, while the file is unchanged.
 * The YAML parser (~40 ms of start-up) loads only when the file changed; a file with errors is
 * never cached, so its errors are reported every time.
 */
export async function openWorkspaceCached(cwd: string, explicit?: string): Promise<Workspace> {
  const {root, foundBy} = findWorkspaceRoot(cwd, explicit)
  const envFile = join(root, '.env')
  const file = join(root, WORKSPACE_CONFIG_FILE)
  // One stat answers both "is there a config?" and the cache key.
  const stat = statSync(file, {bigint: true, throwIfNoEntry: false})
  if (!stat) return {root, foundBy, config: {images: {}, composeFiles: []}, envFile}
  const parser = parserStat()
  // Changes whenever the file or tta's parser of it changes: inode, size, mtime and ctime in ns.
  const key = parser === undefined ? undefined : [file, stat.ino, stat.size, stat.mtimeNs, stat.ctimeNs, parser].join('|')
  const cacheFile = join(root, '.tta', 'cache', 'config.json')
  if (key === undefined) return {root, foundBy, config: await parse(root), envFile}
  try {
    const cached = JSON.parse(readFileSync(cacheFile, 'utf8')) as Partial<CacheFile>
    if (cached.version === CACHE_VERSION && cached.key === key && cached.config) return {root, foundBy, config: cached.config, envFile}
  } catch {
    // No cache yet, or an unreadable one: parse.
  }
  const config = await parse(root)
  try {
    const dir = join(stateDir(root), 'cache')
    // The parsed config can hold registry hosts, identity file paths and the like: owner only,
    // whatever the umask, and a directory an older tta created with the default mode is tightened.
    mkdirSync(dir, {recursive: true, mode: 0o700})
    chmodSync(dir, 0o700)
    const body: CacheFile = {version: CACHE_VERSION, key, config}
    // A unique temporary name, then a rename: concurrent runs never read half a file.
    const tmp = join(dir, `config.json.${process.pid}.tmp`)
    writeFileSync(tmp, JSON.stringify(body), {mode: 0o600})
    chmodSync(tmp, 0o600)
    renameSync(tmp, cacheFile)
  } catch {
    // A read-only checkout still works; it parses every time.
  }
  return {root, foundBy, config, envFile}
}

async function parse(root: string): Promise<WorkspaceConfig> {
  const {loadWorkspaceConfig} = await import('./config.js')
  return loadWorkspaceConfig(root)
}
