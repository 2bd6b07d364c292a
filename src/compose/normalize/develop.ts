/** A service's develop section: the watch rules `tta dev --watch` follows (sync, rebuild, restart, exec). */
import type {DevelopConfig, WatchAction, WatchExec, WatchRule} from '../model.js'
import {childPath} from '../schema.js'
import type {PNode} from '../tree.js'
import type {Ctx} from './context.js'
import {asMap, bool, command, get, nullableStrMap, resolvePath, setIf, str, strList} from './readers.js'

const WATCH_ACTIONS = new Set(['sync', 'rebuild', 'sync+restart', 'restart', 'sync+exec'])

export function develop(n: PNode | undefined, keyPath: string, ctx: Ctx): DevelopConfig | undefined {
  const m = asMap(n)
  if (!m) return undefined
  const out: DevelopConfig = {}
  const watch = get(m, 'watch')
  if (watch?.kind !== 'seq') return out
  const rules: WatchRule[] = []
  watch.items.forEach((item, i) => {
    const itemPath = childPath(childPath(keyPath, 'watch'), i)
    const r = asMap(item)
    if (!r) return
    const p = str(get(r, 'path'))
    const action = str(get(r, 'action'))
    if (p === undefined || p === '') {
      ctx.error('path is required', r, itemPath)
      return
    }
    if (action === undefined || !WATCH_ACTIONS.has(action)) {
      ctx.error(`action must be one of rebuild, sync, restart, sync+restart or sync+exec${action === undefined ? '' : ` (got "${action}")`}`, get(r, 'action') ?? r, childPath(itemPath, 'action'))
      return
    }
    const rule: WatchRule = {path: resolvePath(p, ctx.b.workingDir), action: action as WatchAction}
    const target = str(get(r, 'target'))
    if (target !== undefined) rule.target = target
    else if (action.startsWith('sync')) {
      ctx.error(`target is required for the ${action} action (the container path files are synced to)`, r, itemPath)
      return
    }
    setIf(rule, 'ignore', strList(get(r, 'ignore')))
    setIf(rule, 'include', strList(get(r, 'include')))
    setIf(rule, 'initial_sync', bool(get(r, 'initial_sync')))
    const execNode = asMap(get(r, 'exec'))
    if (execNode) {
      const cmd = command(get(execNode, 'command'), childPath(itemPath, 'exec.command'), ctx)
      if (!cmd || cmd.length === 0) ctx.error('exec needs a command', execNode, childPath(itemPath, 'exec'))
      const exec: WatchExec = {command: cmd ?? []}
      setIf(exec, 'user', str(get(execNode, 'user')))
      if (bool(get(execNode, 'privileged'))) exec.privileged = true
      setIf(exec, 'working_dir', str(get(execNode, 'working_dir')))
      setIf(exec, 'environment', nullableStrMap(get(execNode, 'environment')))
      rule.exec = exec
    } else if (action === 'sync+exec') {
      ctx.error('the sync+exec action needs exec.command', r, itemPath)
      return
    }
    rules.push(rule)
  })
  out.watch = rules
  return out
}

