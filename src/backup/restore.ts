import type {EngineConnection} from '../docker/client.js'
import {dependencyLevels, dependentsOf} from '../engine/graph.js'
import {graphFromLabels} from '../engine/stop.js'
import {ExitCode, TtaError} from '../errors.js'
import {AUTO_LABEL, pruneAutoSnapshots} from './auto.js'
import {backup as takeBackup} from './backup.js'
import type {BackupEmit} from './events.js'
import type {Manifest, ServiceBackup} from './manifest.js'
import type {BackupStore, StoredBackup} from './store.js'
import {STRATEGY} from './strategies/index.js'
import {CheckFailed, type RestoreContext} from './strategies/types.js'
import {InterruptedError, sweepOneOffs} from './streams.js'
import {discoverTargets, startAndWait, stopContainer, type Target} from './targets.js'
import {checkFiles, openBackupFile} from './verify.js'

export interface RestoreItem {
  service: string
  entry: ServiceBackup
  target: Target
}

export interface RestorePlan {
  backup: StoredBackup & {manifest: Manifest}
  items: RestoreItem[]
  /** Running services that depend on a restored one: stopped during the restore, started after. */
  dependents: Target[]
  /** Dependency order of everything involved, for stopping (reversed) and starting. */
  levels: string[][]
}

/** What a restore would touch. Names unknown to the backup are bad input; a service without a container cannot be restored into. */
export async function planRestore(conn: EngineConnection, project: string, backup: StoredBackup & {manifest: Manifest}, services: string[]): Promise<RestorePlan> {
  const available = Object.keys(backup.manifest.services).sort()
  const unknown = services.filter((s) => !available.includes(s))
  if (unknown.length > 0) {
    throw new TtaError(`backup ${backup.id} has no ${unknown.join(', ')}`, ExitCode.badInput, `it holds: ${available.join(', ')}`)
  }
  const names = services.length > 0 ? [...new Set(services)].sort() : available
  const targets = await discoverTargets(conn.engine, project)
  const missing = names.filter((s) => !targets.has(s))
  if (missing.length > 0) {
    throw new TtaError(
      `no container for ${missing.join(', ')} in project ${project}: restore needs the service's container and volumes`,
      ExitCode.failed,
      `create them first (tta dev), then restore; or restore only: ${names.filter((s) => targets.has(s)).join(' ') || '(none)'}`,
    )
  }
  const items = names.map((service) => ({service, entry: backup.manifest.services[service] as ServiceBackup, target: targets.get(service) as Target}))
  const graph = graphFromLabels([...targets.values()])
  const dependents = new Set<string>()
  for (const name of names) for (const dep of dependentsOf(graph, name)) if (!names.includes(dep)) dependents.add(dep)
  const running = [...dependents].map((s) => targets.get(s) as Target).filter((t) => t.state === 'running')
  return {backup, items, dependents: running, levels: dependencyLevels(graph, [...names, ...running.map((t) => t.service)])}
}

/** Refuses a damaged backup before anything is touched. */
export async function checksumsOrRefuse(plan: RestorePlan, emit: BackupEmit, signal?: AbortSignal): Promise<void> {
  const problems = await checkFiles(plan.backup, plan.items.map((i) => i.service), emit, signal)
  if (problems.length > 0) {
    throw new TtaError(
      `backup ${plan.backup.id} is damaged, refusing to restore it (nothing was changed):\n  ${problems.join('\n  ')}`,
      ExitCode.failed,
      'pick another backup (tta backup --list); `tta backup --verify ID` checks one without touching the stack',
    )
  }
}

export interface RestoreOutcome {
  safetyBackup?: string
  services: Array<{service: string; ok: boolean; detail: string; elapsedMs: number}>
  /** Dependents that did not come back (their own failure, reported, not fatal). */
  restartProblems: string[]
}

export interface RestoreOptions {
  conn: EngineConnection
  project: string
  store: BackupStore
  safetyBackup: boolean
  ttaVersion: string
  readyTimeoutMs: number
  signal?: AbortSignal
  emit: BackupEmit
}

/**
 * Restores a verified plan: a safety backup of the current state first, then dependents stopped,
 * each service restored and checked, dependents started again (also after a failure). Stops at
 * the first service that fails: the safety backup is the way back.
 */
export async function restore(plan: RestorePlan, options: RestoreOptions): Promise<RestoreOutcome> {
  const {conn, emit, signal} = options
  const outcome: RestoreOutcome = {services: [], restartProblems: []}
  await sweepOneOffs(conn.engine, options.project)
  if (options.safetyBackup) {
    emit({type: 'note', message: `safety backup of ${plan.items.map((i) => i.service).join(', ')} (the current state) first`})
    try {
      const safety = await takeBackup({
        conn,
        project: options.project,
        store: options.store,
        services: plan.items.map((i) => i.service),
        reason: `before restore of ${plan.backup.id}`,
        label: AUTO_LABEL,
        offline: true,
        ttaVersion: options.ttaVersion,
        readyTimeoutMs: options.readyTimeoutMs,
        signal,
        emit: (e) => emit(e.type === 'service' ? {...e, verb: 'safety backup'} : e),
      })
      if (!safety.manifest.complete) throw new Error(safety.manifest.failed.map((f) => `${f.service}: ${f.error}`).join('; '))
      outcome.safetyBackup = safety.manifest.id
      pruneAutoSnapshots(options.store, options.project)
    } catch (error) {
      if (error instanceof InterruptedError || signal?.aborted) throw error
      throw new TtaError(`could not take the safety backup, nothing was restored: ${(error as Error).message}`, ExitCode.failed, 'fix the cause, or pass --no-safety-backup to restore without one')
    }
  }

  const order = plan.levels.flat()
  const dependents = [...plan.dependents].sort((a, b) => order.indexOf(b.service) - order.indexOf(a.service))
  for (const dep of dependents) {
    emit({type: 'note', service: dep.service, message: `stopping ${dep.service} (depends on what is restored)`})
    await stopContainer(conn.engine, dep.id)
  }
  try {
    for (const item of [...plan.items].sort((a, b) => order.indexOf(a.service) - order.indexOf(b.service))) {
      const t0 = Date.now()
      emit({type: 'service', service: item.service, phase: 'start', strategy: item.entry.strategy})
      const ctx: RestoreContext = {
        engine: conn.engine,
        project: options.project,
        target: item.target,
        signal,
        open: (file) => openBackupFile(plan.backup.dir, item.service, file, emit),
        note: (message) => emit({type: 'note', service: item.service, message}),
        readyTimeoutMs: options.readyTimeoutMs,
      }
      try {
        // Dump-based strategies restore through the server: it must be up.
        if (item.entry.strategy === 'postgres' && item.target.state !== 'running') {
          ctx.note(`starting ${item.service}`)
          await startAndWait(conn.engine, item.target, options.readyTimeoutMs, signal)
        }
        const strategy = STRATEGY[item.entry.strategy]
        await strategy.restore(ctx, item.entry)
        const detail = await strategy.check(ctx, item.entry)
        outcome.services.push({service: item.service, ok: true, detail, elapsedMs: Date.now() - t0})
        emit({type: 'service', service: item.service, phase: 'done', strategy: item.entry.strategy, detail, elapsedMs: Date.now() - t0})
      } catch (error) {
        if (signal?.aborted) throw new InterruptedError()
        const detail = error instanceof CheckFailed ? `restored, but the check failed: ${error.message}` : (error as Error).message
        outcome.services.push({service: item.service, ok: false, detail, elapsedMs: Date.now() - t0})
        emit({type: 'service', service: item.service, phase: 'failed', strategy: item.entry.strategy, detail, elapsedMs: Date.now() - t0})
        break
      }
    }
  } finally {
    for (const dep of [...dependents].reverse()) {
      emit({type: 'note', service: dep.service, message: `starting ${dep.service} again`})
      // Not bound to the signal: an interrupted restore still puts the dependents back.
      await startAndWait(conn.engine, dep, options.readyTimeoutMs).catch((error: Error) => {
        outcome.restartProblems.push(`${dep.service}: ${error.message}`)
      })
    }
  }
  return outcome
}
