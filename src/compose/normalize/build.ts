/** A service's build section, in the shape Compose prints it (local contexts made absolute, bare args taken from the environment). */
import type {BuildConfig} from '../model.js'
import {isContextReference} from '../relative-paths.js'
import {childPath} from '../schema.js'
import type {PNode} from '../tree.js'
import {fileRefs} from './attachments.js'
import type {Ctx, ServiceRefs} from './context.js'
import {asMap, bool, bytes, get, nullableStrMap, resolvePath, setIf, str, strList, strMap} from './readers.js'
import {ulimits} from './resources.js'

export function build(n: PNode | undefined, keyPath: string, ctx: Ctx, refs: ServiceRefs): BuildConfig | undefined {
  const m = asMap(n)
  if (!m) return undefined
  const context = str(get(m, 'context')) ?? '.'
  // Remote contexts (git, http) stay as given; local ones become absolute.
  const remote = /^(https?:\/\/|git@|git:\/\/|github\.com\/)/.test(context)
  const out: BuildConfig = {context: remote ? context : resolvePath(context, ctx.b.workingDir)}
  const inline = str(get(m, 'dockerfile_inline'))
  const dockerfile = str(get(m, 'dockerfile'))
  if (inline !== undefined && dockerfile !== undefined) {
    ctx.error('dockerfile and dockerfile_inline cannot both be set', m, keyPath)
  }
  // An empty dockerfile (`${UNSET}`) means the default, which Compose then leaves out.
  if (inline === undefined) {
    if (dockerfile !== '') out.dockerfile = dockerfile ?? 'Dockerfile'
  }
  else out.dockerfile_inline = inline
  const args = nullableStrMap(get(m, 'args'))
  if (args) {
    // A bare name takes its value from the environment; Compose drops it when that is unset too.
    for (const [k, v] of Object.entries(args)) {
      if (v !== null) continue
      const fromEnv = ctx.b.lookup(k)
      if (fromEnv === undefined) delete args[k]
      else args[k] = fromEnv
    }
    out.args = args
  }
  setIf(out, 'labels', strMap(get(m, 'labels')))
  setIf(out, 'cache_from', strList(get(m, 'cache_from')))
  setIf(out, 'no_cache', bool(get(m, 'no_cache')))
  setIf(out, 'pull', bool(get(m, 'pull')))
  setIf(out, 'network', str(get(m, 'network')))
  setIf(out, 'target', str(get(m, 'target')))
  setIf(out, 'platforms', strList(get(m, 'platforms')))
  const ssh = asMap(get(m, 'ssh'))
  if (ssh) {
    out.ssh = [...ssh.entries.values()].map((e) => {
      const p = str(e.value)
      return p === undefined || p === '' ? {id: e.key} : {id: e.key, path: p}
    })
  }
  setIf(out, 'tags', strList(get(m, 'tags')))
  setIf(out, 'shm_size', bytes(get(m, 'shm_size'), childPath(keyPath, 'shm_size'), ctx))
  setIf(out, 'ulimits', ulimits(get(m, 'ulimits'), childPath(keyPath, 'ulimits'), ctx))
  const contexts = strMap(get(m, 'additional_contexts'))
  if (contexts) {
    // A local path is made absolute as the context is; `name=service:x`, URLs and images stay.
    for (const [name, value] of Object.entries(contexts)) {
      if (!isContextReference(value)) contexts[name] = resolvePath(value, ctx.b.workingDir)
    }
    out.additional_contexts = contexts
  }
  if (bool(get(m, 'privileged'))) out.privileged = true
  setIf(out, 'entitlements', strList(get(m, 'entitlements')))
  setIf(out, 'secrets', fileRefs(get(m, 'secrets'), childPath(keyPath, 'secrets'), 'build-secrets', refs.secrets, ctx))
  return out
}

