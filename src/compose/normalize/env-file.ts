/**
 * Reading a service's env_file entries: the one step of normalisation that does I/O (it reads the
 * files from disk); everything else in compose/normalize/ works on the tree alone.
 */
import {existsSync, readFileSync} from 'node:fs'

import {InputError} from '../../errors.js'
import {parseDotenv} from '../dotenv.js'
import {childPath} from '../schema.js'
import type {PNode} from '../tree.js'
import type {Ctx} from './context.js'
import {asMap, bool, get, resolvePath, str} from './readers.js'

/**
 * The variables the env_file entries set, later files winning. A missing file is an error unless
 * its entry says `required: false`; read and parse errors are reported to the Ctx.
 */
export function readEnvFiles(envFiles: PNode | undefined, keyPath: string, ctx: Ctx): Record<string, string | null> {
  const values: Record<string, string | null> = {}
  if (envFiles?.kind !== 'seq') return values
  envFiles.items.forEach((item, i) => {
    const itemPath = childPath(keyPath, i)
    const m = asMap(item)
    const rel = m ? str(get(m, 'path')) : str(item)
    const required = m ? (bool(get(m, 'required')) ?? true) : true
    if (rel === undefined) {
      ctx.error('env_file entry needs a path', item, itemPath)
      return
    }
    const file = resolvePath(rel, ctx.b.workingDir)
    if (!existsSync(file)) {
      if (required) ctx.error(`env file ${file} not found`, item, itemPath)
      return
    }
    try {
      Object.assign(values, parseDotenv(readFileSync(file, 'utf8'), file, {lookup: ctx.b.lookup}))
    } catch (e) {
      if (e instanceof InputError) ctx.b.errors.push(e)
      else if (e instanceof Error && 'errors' in e) ctx.b.errors.push(...(e as {errors: InputError[]}).errors)
      else ctx.error(`cannot read env file ${file}: ${(e as Error).message}`, item, itemPath)
    }
  })
  return values
}
