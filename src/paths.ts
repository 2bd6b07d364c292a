import {existsSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

/**
 * The installed package's root: the nearest ancestor with a package.json (this code runs from
 * `src/`, `dist/` or the fast-path bundle in `dist/fast/`).
 */
function findPackageRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir
    if (dirname(dir) === dir) return dirname(from)
  }
}

export const packageRoot = findPackageRoot(dirname(fileURLToPath(import.meta.url)))

/** Directory of the bundled compose files; their relative paths resolve against it. */
export const bundledComposeDir = join(packageRoot, 'compose')
