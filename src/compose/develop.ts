/**
 * `develop.watch` (Compose Spec "Develop"): the rules `tta dev --watch` follows. Kept in one file so
 * the loader's other parts only call in here (schema entry, one normalize line, the model field).
 */
import path from 'node:path'

import type {Schema} from './schema.js'
import type {PMap, PNode, Pos} from './tree.js'

export const WATCH_ACTIONS = ['sync', 'rebuild', 'sync+restart', 'restart', 'sync+exec'] as const
export type WatchAction = (typeof WATCH_ACTIONS)[number]

export interface WatchExec {
  command: string[]
  user?: string
  privileged?: boolean
  working_dir?: string
  environment?: Record<string, string>
}

/** One `develop.watch` entry, with Compose's field names; `path` is absolute after loading. */
export interface WatchRule {
  path: string
  action: WatchAction
  target?: string
  ignore?: string[]
  include?: string[]
  initial_sync?: boolean
  exec?: WatchExec
}

export interface DevelopConfig {
  watch?: WatchRule[]
}

const strList: Schema = {list: 'string'}

export const DEVELOP_SCHEMA: Schema = {
  map: {
    watch: {
      list: {
        map: {
          path: 'string',
          action: 'string',
          target: 'string',
          ignore: {oneOf: ['string', strList]},
          include: {oneOf: ['string', strList]},
          initial_sync: 'bool',
          exec: {
            map: {
              command: {oneOf: ['string', strList]},
              user: 'string',
              privileged: 'bool',
              working_dir: 'string',
              environment: {oneOf: [{list: 'scalar'}, {dict: {nullable: 'scalar'}}]},
            },
          },
        },
      },
    },
  },
}

type Report = (detail: string, node: {pos: Pos}, keyPath: string) => void

const entry = (m: PMap, key: string): PNode | undefined => m.entries.get(key)?.value
const text = (n: PNode | undefined): string | undefined => (n?.kind === 'scalar' && n.value !== null ? String(n.value) : undefined)
const list = (n: PNode | undefined): string[] | undefined => {
  if (n === undefined) return undefined
  if (n.kind === 'seq') return n.items.map((i) => text(i) ?? '')
  const one = text(n)
  return one === undefined ? undefined : [one]
}

/** Reads a (schema-checked) `develop:` node; `path` is resolved against the project directory. */
export function parseDevelop(n: PNode | undefined, keyPath: string, workingDir: string, report: Report): DevelopConfig | undefined {
  if (n?.kind !== 'map') return undefined
  const watchNode = entry(n, 'watch')
  if (watchNode?.kind !== 'seq') return {}
  const watch: WatchRule[] = []
  watchNode.items.forEach((item, i) => {
    if (item.kind !== 'map') return
    const at = `${keyPath}.watch[${i}]`
    const rulePath = text(entry(item, 'path'))
    const action = text(entry(item, 'action'))
    if (rulePath === undefined) report('a watch rule needs a path', item, at)
    if (action === undefined) report(`a watch rule needs an action (${WATCH_ACTIONS.join(', ')})`, item, at)
    else if (!(WATCH_ACTIONS as readonly string[]).includes(action)) {
      report(`unknown watch action "${action}" (use ${WATCH_ACTIONS.join(', ')})`, entry(item, 'action') ?? item, `${at}.action`)
    }
    const target = text(entry(item, 'target'))
    if (action?.startsWith('sync') && target === undefined) report(`action ${action} needs a target (the path in the container)`, item, at)
    if (target !== undefined && !target.startsWith('/')) report(`target must be an absolute path in the container, not "${target}"`, entry(item, 'target') ?? item, `${at}.target`)
    const exec = parseExec(entry(item, 'exec'), `${at}.exec`, report)
    if (action === 'sync+exec' && !exec) report('action sync+exec needs exec.command', item, at)
    if (rulePath === undefined || action === undefined || !(WATCH_ACTIONS as readonly string[]).includes(action)) return
    const rule: WatchRule = {path: path.resolve(workingDir, rulePath), action: action as WatchAction}
    if (target !== undefined) rule.target = target
    const ignore = list(entry(item, 'ignore'))
    if (ignore) rule.ignore = ignore
    const include = list(entry(item, 'include'))
    if (include) rule.include = include
    const initial = entry(item, 'initial_sync')
    if (initial?.kind === 'scalar' && initial.value !== null) rule.initial_sync = initial.value === true || String(initial.value).toLowerCase() === 'true'
    if (exec) rule.exec = exec
    watch.push(rule)
  })
  return {watch}
}

function parseExec(n: PNode | undefined, at: string, report: Report): WatchExec | undefined {
  if (n?.kind !== 'map') return undefined
  const commandNode = entry(n, 'command')
  // A string command is split on whitespace only: Compose runs exec argv as given, never through a shell.
  const command = commandNode?.kind === 'seq' ? list(commandNode) : text(commandNode)?.split(/\s+/).filter(Boolean)
  if (!command || command.length === 0) {
    report('exec needs a command', n, at)
    return undefined
  }
  const out: WatchExec = {command}
  const user = text(entry(n, 'user'))
  if (user !== undefined) out.user = user
  const privileged = entry(n, 'privileged')
  if (privileged?.kind === 'scalar' && privileged.value !== null) out.privileged = privileged.value === true
  const workingDir = text(entry(n, 'working_dir'))
  if (workingDir !== undefined) out.working_dir = workingDir
  const env = entry(n, 'environment')
  if (env?.kind === 'map') {
    out.environment = Object.fromEntries([...env.entries.keys()].sort().map((k) => [k, text(entry(env, k)) ?? '']))
  } else if (env?.kind === 'seq') {
    out.environment = Object.fromEntries(
      (list(env) ?? []).map((kv) => {
        const eq = kv.indexOf('=')
        return eq < 0 ? [kv, ''] : [kv.slice(0, eq), kv.slice(eq + 1)]
      }),
    )
  }
  return out
}
