import type * as Crypto from 'node:crypto'
import {createRequire} from 'node:module'

const requireBuiltin = createRequire(import.meta.url)

/**
 * sha256 of a text, hex. node:crypto (a few ms to load) is required on first use: modules on the
 * `tta status` fast path need a hash only in cases that path never meets.
 */
export function sha256Hex(text: string): string {
  return (requireBuiltin('node:crypto') as typeof Crypto).createHash('sha256').update(text).digest('hex')
}
