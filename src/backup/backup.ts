import type {EngineConnection} from '../docker/client.js'
import {ExitCode, TtaError} from '../errors.js'
import type {BackupEmit} from './events.js'
import {uniqueName, type Manifest, type ServiceBackup, type StrategyName} from './manifest.js'
import {planRetention, type Clock, type RetentionPolicy} from './retention.js'
import type {BackupStore} from './store.js'
import {STRATEGY} from './strategies/index.js'
import type {BackupContext} from './strategies/types.js'
import {InterruptedError, sweepOneOffs} from './streams.js'
import {discoverTargets, type Target} from './targets.js'

export interface BackupItem {
  target: Target
  strategy: StrategyName
}

export interface BackupPlan {
  items: BackupItem[]
  skipped: Array<{service: string; reason: string}>
}

/**
 * Which services to back up, and how. Pure. Running services get their strategy; a service
 * with no database image and no named volume has nothing to back up; a stopped one is skipped,
 * unless `offline` (safety and pre-clean backups), where its named volumes are copied as files.
 */
export function planBackup(targets: ReadonlyMap<string, Target>, services: readonly string[], offline = false): BackupPlan {
  const plan: BackupPlan = {items: [], skipped: []}
  for (const target of [...targets.values()].sort((a, b) => (a.service < b.service ? -1 : 1))) {
    if (services.length > 0 && !services.includes(target.service)) continue
    if (target.strategy === null) {
      plan.skipped.push({service: target.service, reason: 'no data (no database image, no named volume)'})
    } else if (target.state === 'running') {
      plan.items.push({target, strategy: target.strategy})
    } else if ((offline || target.state === 'paused') && target.volumes.length > 0) {
      plan.items.push({target, strategy: 'volume'})
    } else {
      plan.skipped.push({service: target.service, reason: `not running (${target.state})`})
    }
  }
  return plan
}

export interface BackupRequest {
  conn: EngineConnection
  project: string
  store: BackupStore
  services?: string[]
  reason: string
  /** Back up the services at the same time (auto snapshots: they hold up a clean or a restore). */
  parallel?: boolean
  /** Written to the manifest: `auto` for the safety snapshots tta takes by itself. */
  label?: string
  offline?: boolean
  ttaVersion: string
  readyTimeoutMs: number
  signal?: AbortSignal
  emit: BackupEmit
  now?: () => Date
  /** Finds the containers to back up; default: the compose project's (by Compose's labels). A swarm stack's tasks come from src/deploy. */
  discover?: () => Promise<Map<string, Target>>
}

export interface BackupResult {
  manifest: Manifest
  dir: string
}

/**
 * Backs up the project's stateful services into a new backup directory, one service after the
 * other. A service that fails is recorded in the manifest (`failed`, `complete: false`) while
 * the others are kept; if none succeeds, or on interrupt, nothing is left behind.
 */
export async function backup(request: BackupRequest): Promise<BackupResult> {
  const {conn, project, emit} = request
  const services = request.services ?? []
  const now = request.now ?? (() => new Date())
  const [, targets] = await Promise.all([sweepOneOffs(conn.engine, project), request.discover ? request.discover() : discoverTargets(conn.engine, project)])
  const unknown = services.filter((s) => !targets.has(s))
  if (unknown.length > 0) {
    throw new TtaError(
      `no container for ${unknown.join(', ')} in project ${project}`,
      ExitCode.badInput,
      targets.size > 0 ? `services with containers: ${[...targets.keys()].sort().join(', ')}` : 'start the stack first: tta dev',
    )
  }
  const plan = planBackup(targets, services, request.offline)
  for (const skip of plan.skipped) emit({type: 'service', service: skip.service, phase: 'skipped', detail: skip.reason})
  if (plan.items.length === 0) {
    const why = plan.skipped.length > 0 ? `: ${plan.skipped.map((s) => `${s.service} ${s.reason}`).join('; ')}` : ''
    throw new TtaError(`nothing to back up in project ${project}${why}`, ExitCode.failed, 'start the stack (tta dev) so its databases can be dumped')
  }

  const started = now()
  let pending: ReturnType<BackupStore['begin']>
  try {
    pending = request.store.begin(started)
  } catch (error) {
    throw noSpaceError(error, request.store.root) ?? error
  }
  const names = new Set<string>()
  const entries: Record<string, ServiceBackup> = {}
  const failed: Manifest['failed'] = []
  try {
    const backupOne = async (item: BackupItem): Promise<void> => {
      const {target, strategy} = item
      const service = target.service
      const serviceStarted = now()
      const t0 = Date.now()
      let lastEmit = 0
      emit({type: 'service', service, phase: 'start', strategy})
      const ctx: BackupContext = {
        engine: conn.engine,
        project,
        target,
        signal: request.signal,
        file: (name) => pending.sink(name),
        fileName: (wanted) => uniqueName(wanted, names),
        progress: (file, bytes) => {
          if (Date.now() - lastEmit < 100) return
          lastEmit = Date.now()
          emit({type: 'progress', service, file, bytes, elapsedMs: Date.now() - t0})
        },
        note: (message) => emit({type: 'note', service, message}),
        readyTimeoutMs: request.readyTimeoutMs,
      }
      try {
        const outcome = await STRATEGY[strategy].backup(ctx)
        const bytes = outcome.files.reduce((sum, f) => sum + f.bytes, 0)
        entries[service] = {
          strategy,
          image: target.image,
          imageId: target.imageId,
          serverVersion: outcome.serverVersion,
          started: serviceStarted.toISOString(),
          finished: now().toISOString(),
          bytes,
          files: outcome.files,
          ...(outcome.user !== undefined ? {user: outcome.user} : {}),
          ...(outcome.keyspace !== undefined ? {keyspace: outcome.keyspace, keyspaceExact: outcome.keyspaceExact ?? true} : {}),
        }
        emit({type: 'service', service, phase: 'done', strategy, bytes, elapsedMs: Date.now() - t0})
      } catch (error) {
        if (request.signal?.aborted) throw new InterruptedError()
        // A full disk fails every service after this one too, and a partial backup would look usable.
        const full = noSpaceError(error, request.store.root, pending.id)
        if (full) throw full
        const message = (error as Error).message
        failed.push({service, error: message})
        emit({type: 'service', service, phase: 'failed', strategy, detail: message, elapsedMs: Date.now() - t0})
      }
    }
    if (request.parallel) {
      // Every service settles before the first error is thrown: nothing still writes when the directory goes.
      const results = await Promise.allSettled(plan.items.map(backupOne))
      const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
      if (rejected) throw rejected.reason
      failed.sort((a, b) => (a.service < b.service ? -1 : 1))
    } else {
      for (const item of plan.items) await backupOne(item)
    }
  } catch (error) {
    pending.abandon()
    throw error
  }
  if (Object.keys(entries).length === 0) {
    pending.abandon()
    throw new TtaError(`backup failed: ${failed.map((f) => `${f.service}: ${f.error}`).join('; ')}`, ExitCode.failed)
  }
  const manifest: Manifest = {
    format: 1,
    id: pending.id,
    tta: request.ttaVersion,
    project,
    reason: request.reason,
    ...(request.label !== undefined ? {label: request.label} : {}),
    started: started.toISOString(),
    finished: now().toISOString(),
    complete: failed.length === 0,
    services: entries,
    failed,
    skipped: plan.skipped,
  }
  try {
    pending.commit(manifest)
  } catch (error) {
    pending.abandon()
    throw noSpaceError(error, request.store.root, pending.id) ?? error
  }
  return {manifest, dir: pending.dir}
}

/** The error for a backup directory that ran out of space (or quota); undefined for any other error. */
export function noSpaceError(error: unknown, root: string, id?: string): TtaError | undefined {
  const err = error as {code?: string; message?: string}
  if (err.code !== 'ENOSPC' && err.code !== 'EDQUOT' && !/\b(ENOSPC|EDQUOT)\b|no space left on device|disk quota exceeded/i.test(err.message ?? '')) return undefined
  const what = err.code === 'EDQUOT' || /quota/i.test(err.message ?? '') ? 'disk quota exceeded' : 'no space left on device'
  return new TtaError(
    `${what} in the backup directory ${root}: ${id ? `the unfinished backup ${id} was removed` : 'no backup was started'}; nothing is listed and no data changed`,
    ExitCode.failed,
    'free space on that disk, or pass --dir (or set backup.dir in tta.config.yaml) to a directory on a larger one',
  )
}

export interface RetentionResult {
  removed: Array<{id: string; reason: string}>
  /** Unfinished backups of killed runs, removed too. */
  abandoned: string[]
}

/** Applies the retention policy to the project's backups and clears abandoned partial ones. */
export function applyRetention(store: BackupStore, project: string, policy: RetentionPolicy, clock: Clock = Date.now): RetentionResult {
  // Auto snapshots have their own retention (src/backup/auto.ts): they never push out a manual backup, nor it them.
  const listed = store.list(project).filter((b) => b.manifest && b.manifest.label !== 'auto')
  const plan = planRetention(
    listed.map((b) => ({id: b.id, createdMs: Date.parse(b.manifest?.started ?? ''), complete: b.manifest?.complete ?? false})),
    policy,
    clock,
  )
  for (const {backup: b} of plan.remove) store.remove(b.id)
  const abandoned = store.abandoned()
  for (const id of abandoned) store.remove(id)
  return {removed: plan.remove.map((r) => ({id: r.backup.id, reason: r.reason})), abandoned}
}
