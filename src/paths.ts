import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

/** The installed package's root (this file lives in `src/` or `dist/` directly below it). */
export const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..')

/** Directory of the bundled compose files; their relative paths resolve against it. */
export const bundledComposeDir = join(packageRoot, 'compose')
