/**
 * Which develop.watch rules a batch of changed paths triggers, and what that means for a service:
 * one rebuild wins over everything; otherwise files to copy or delete per sync rule, then a restart
 * or exec. Pure: filesystem facts (exists, .dockerignore) come in as arguments.
 */
import {isAbsolute, relative, sep} from 'node:path'

import type {WatchExec, WatchRule} from '../compose/model.js'
import {ALWAYS_IGNORED, PatternSet} from './ignore.js'

export interface Change {
  /** Absolute host path. */
  path: string
  /** Whether it exists now (false: deleted). */
  exists: boolean
}

export interface FileOp {
  hostPath: string
  containerPath: string
}

export interface ServicePlan {
  rebuild: boolean
  copy: FileOp[]
  remove: FileOp[]
  restart: boolean
  exec: WatchExec[]
  /** The rules that fired, for the status line. */
  actions: string[]
}

/** A rule with its matchers compiled once. */
export interface CompiledRule {
  rule: WatchRule
  ignore: PatternSet
  include?: PatternSet
  /** .dockerignore of the build context, matched relative to it, when the rule path lies inside. */
  dockerignore?: {base: string; set: PatternSet}
}

export function compileRule(rule: WatchRule, buildContext?: string, dockerignore: string[] = []): CompiledRule {
  const compiled: CompiledRule = {rule, ignore: new PatternSet([...ALWAYS_IGNORED, ...(rule.ignore ?? [])])}
  if (rule.include && rule.include.length > 0) compiled.include = new PatternSet(rule.include)
  if (buildContext && dockerignore.length > 0 && within(buildContext, rule.path)) {
    compiled.dockerignore = {base: buildContext, set: new PatternSet(dockerignore)}
  }
  return compiled
}

/** `child` is `parent` or lies under it. */
export function within(parent: string, child: string): boolean {
  const rel = relative(parent, child)
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel))
}

const posix = (p: string): string => p.split(sep).join('/')

/** The path relative to the rule's path, or undefined when the rule does not cover it or ignores it. */
export function ruleMatch(compiled: CompiledRule, path: string): string | undefined {
  const {rule} = compiled
  if (!within(rule.path, path)) return undefined
  const rel = posix(relative(rule.path, path))
  if (rel !== '' && compiled.ignore.matches(rel)) return undefined
  if (compiled.dockerignore && compiled.dockerignore.set.matches(posix(relative(compiled.dockerignore.base, path)))) return undefined
  if (compiled.include && rel !== '' && !compiled.include.matches(rel)) return undefined
  return rel
}

/** Where a host path lands in the container for a sync rule. */
export function containerPathFor(rule: WatchRule, rel: string): string {
  const target = (rule.target ?? '/').replace(/\/+$/, '')
  return rel === '' ? target || '/' : `${target}/${rel}`
}

export function planChanges(rules: readonly CompiledRule[], changes: readonly Change[]): ServicePlan {
  const plan: ServicePlan = {rebuild: false, copy: [], remove: [], restart: false, exec: [], actions: []}
  const fired = new Set<CompiledRule>()
  const seen = new Set<string>()
  for (const change of changes) {
    for (const compiled of rules) {
      const rel = ruleMatch(compiled, change.path)
      if (rel === undefined) continue
      fired.add(compiled)
      const {rule} = compiled
      if (!rule.action.startsWith('sync')) continue
      const op = {hostPath: change.path, containerPath: containerPathFor(rule, rel)}
      const key = `${change.exists}:${op.containerPath}`
      if (seen.has(key)) continue
      seen.add(key)
      ;(change.exists ? plan.copy : plan.remove).push(op)
    }
  }
  for (const {rule} of fired) {
    if (!plan.actions.includes(rule.action)) plan.actions.push(rule.action)
    if (rule.action === 'rebuild') plan.rebuild = true
    if (rule.action === 'restart' || rule.action === 'sync+restart') plan.restart = true
    if (rule.action === 'sync+exec' && rule.exec && !plan.exec.includes(rule.exec)) plan.exec.push(rule.exec)
  }
  if (plan.rebuild) {
    // A new image carries every change; copying into the container about to be replaced is waste.
    plan.copy = []
    plan.remove = []
    plan.restart = false
    plan.exec = []
  }
  return plan
}

export function isEmptyPlan(plan: ServicePlan): boolean {
  return !plan.rebuild && !plan.restart && plan.copy.length === 0 && plan.remove.length === 0 && plan.exec.length === 0
}
