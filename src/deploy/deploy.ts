import {randomUUID} from 'node:crypto'

import {buildImage} from '../engine/images.js'
import {AbortedError} from '../engine/readiness.js'
import {UpFailedError, up} from '../engine/up.js'
import {ExitCode, TtaError} from '../errors.js'
import type {DeployTarget} from '../workspace/deploy-config.js'
import {projectNameFor} from '../workspace/project.js'
import {backupBeforeDeploy} from './backup-hook.js'
import {readComposeRecords, restoreSnapshot, snapshotProject, verifyCompose, writeComposeRecords} from './compose-target.js'
import {stepper, type DeployEmit} from './events.js'
import {mergeHistory, readHistory, saveRecord, type DeployRecord} from './history.js'
import {changedServices, type DeployPlan} from './plan.js'
import {connectTarget, type DeployRequest, findTarget, type PreparedDeploy, swarmContext, targetRecords} from './prepare.js'
import {pushImage, type RegistryAuth} from './registry.js'
import {cleanupSwarm} from './swarm-cleanup.js'
import {DeployLabel, swarmServiceSpec, type SwarmServiceSpec} from './swarm-spec.js'
import {applySwarm, observeStack, rollbackSwarm, stackServices, verifySwarm, writeSwarmRecord, type ApplyOptions, type SwarmFailure} from './swarm.js'
import {deployer} from './version.js'

/** A failure the user must read: which services, why, their last log lines, and whether the previous version runs again. */
export class DeployFailedError extends Error {
  constructor(
    message: string,
    readonly failures: Array<{service: string; reason: string; logs: string[]}>,
    readonly rolledBackTo: string | undefined,
    readonly record: DeployRecord,
    readonly rollbackProblems: string[] = [],
  ) {
    super(message)
    this.name = 'DeployFailedError'
  }
}

export interface DeployResult {
  record: DeployRecord
  plan: DeployPlan
}


/**
 * Carries out a prepared deployment: build, push, backup, roll out, verify, record. On a
 * failed rollout it rolls back on its own and throws DeployFailedError (exit 1) after recording.
 */
export async function runDeploy(prepared: PreparedDeploy, emit: DeployEmit, signal?: AbortSignal): Promise<DeployResult> {
  const {target, plan, loaded} = prepared
  const step = stepper(emit)
  const startedAt = new Date().toISOString()
  const record: DeployRecord = {
    id: randomUUID(),
    env: target.name,
    type: target.type,
    host: prepared.conn.endpoint.host,
    project: plan.project,
    action: plan.action,
    version: plan.version,
    previousVersion: plan.currentVersion,
    result: 'failed',
    startedAt,
    finishedAt: startedAt,
    by: deployer(),
    // A rollback runs an older build: its commit is the one that build came from.
    commit: prepared.rollbackFrom ? prepared.rollbackFrom.commit : prepared.git.commit,
    dirty: prepared.rollbackFrom ? prepared.rollbackFrom.dirty : prepared.git.dirty.length > 0 || undefined,
    images: {},
    changed: [],
  }
  const images: Record<string, string> = Object.fromEntries(Object.values(loaded.project.services).map((s) => [s.name, s.image ?? '']))

  // Until the rollout starts nothing has changed on the target: an interrupt (or failure) there is not recorded.
  try {
    if (prepared.builds.length === 0) emit({type: 'step', step: 'build', status: 'skipped', detail: plan.action === 'rollback' ? `the images of ${plan.version} are already built` : 'no service has a build section'})
    else {
      await step(
        'build',
        async () => {
          for (const service of prepared.builds) {
            const t0 = Date.now()
            emit({type: 'image', service: service.name, image: service.image as string, phase: 'build', status: 'start'})
            try {
              await buildImage((prepared.buildConn ?? prepared.conn).engine, {project: plan.project, service, signal, onOutput: (line) => emit({type: 'build-output', service: service.name, line})})
            } catch (error) {
              throw new TtaError(`${service.name}: could not build ${service.image}: ${(error as Error).message}`, ExitCode.failed, 'fix the build above; nothing was deployed')
            }
            emit({type: 'image', service: service.name, image: service.image as string, phase: 'build', status: 'done', elapsedMs: Date.now() - t0})
          }
        },
        () => `${prepared.builds.length} image${prepared.builds.length === 1 ? '' : 's'} tagged ${plan.version}`,
      )
    }

    if (prepared.builds.length === 0 || !target.registry) {
      emit({type: 'step', step: 'push', status: 'skipped', detail: prepared.builds.length === 0 ? 'nothing built' : 'no registry: the target runs the images built on its own engine'})
    } else {
      await step(
        'push',
        async () => {
          for (const service of prepared.builds) {
            const ref = service.image as string
            const t0 = Date.now()
            emit({type: 'image', service: service.name, image: ref, phase: 'push', status: 'start'})
            let digest: string | undefined
            try {
              digest = await pushImage((prepared.buildConn ?? prepared.conn).engine, ref, prepared.auth as RegistryAuth, (p) => emit({type: 'push-progress', image: ref, current: p.current, total: p.total}), signal)
            } catch (error) {
              throw new TtaError(`${service.name}: could not push ${ref}: ${(error as Error).message}`, ExitCode.failed, `check that the engine may push to ${target.registry} (docker login; an HTTP registry must be in the engine's insecure-registries)`)
            }
            // Swarm nodes pull by digest, so every node runs exactly what was pushed.
            if (digest && target.type === 'swarm') images[service.name] = `${ref}@${digest}`
            emit({type: 'image', service: service.name, image: ref, phase: 'push', status: 'done', elapsedMs: Date.now() - t0, detail: digest})
          }
        },
        () => `${prepared.builds.length} image${prepared.builds.length === 1 ? '' : 's'} to ${target.registry}`,
      )
    }
    record.images = {...images}

    if (!target.backupFirst) emit({type: 'step', step: 'backup', status: 'skipped', detail: 'backupFirst is not set for this target'})
    else {
      await step(
        'backup',
        () => backupBeforeDeploy({workspace: prepared.request.workspace, conn: prepared.conn, loaded, target, version: plan.version, ttaVersion: prepared.request.ttaVersion ?? 'unknown', readyTimeoutMs: prepared.timeoutMs, signal, emit}),
        (summary) => summary,
      )
    }
  } catch (error) {
    if (signal?.aborted) throw new TtaError(`interrupted before the rollout: nothing changed on ${target.name}, nothing recorded`, ExitCode.interrupted)
    throw error
  }

  const deadline = Date.now() + prepared.timeoutMs
  const failed = (failures: Array<{service: string; reason: string; logs: string[]}>) => new DeployFailedError(`${failures.map((f) => f.service).join(', ')} did not get healthy`, failures, undefined, record)
  const interrupted = async (doing: string): Promise<never> => {
    record.result = 'interrupted'
    record.activeVersion = undefined
    record.error = `interrupted ${doing}: ${interruptedState(prepared, record)}`
    record.finishedAt = new Date().toISOString()
    await writeRecord(prepared, record, emit)
    const back = plan.currentVersion ? `--rollback to return to ${plan.currentVersion}` : '--rollback'
    throw new TtaError(`${record.error}; recorded as interrupted`, ExitCode.interrupted, `run \`tta deploy ${target.name}\` again to finish deploying ${plan.version}, or ${back}`)
  }
  let rollout: {failures: Array<{service: string; reason: string; logs: string[]}>; undo: () => Promise<string[]>; canUndo: boolean}
  try {
    const t0 = Date.now()
    emit({type: 'step', step: 'rollout', status: 'start'})
    try {
      rollout = target.type === 'swarm' ? await rolloutSwarm(prepared, images, record, deadline, emit, signal) : await rolloutCompose(prepared, record, deadline, emit, signal)
    } catch (error) {
      emit({type: 'step', step: 'rollout', status: 'failed', detail: signal?.aborted ? 'interrupted' : (error as Error).message.split('\n')[0], elapsedMs: Date.now() - t0})
      throw error
    }
    if (signal?.aborted) {
      emit({type: 'step', step: 'rollout', status: 'failed', detail: 'interrupted', elapsedMs: Date.now() - t0})
      throw new AbortedError()
    }
    if (rollout.failures.length > 0) emit({type: 'step', step: 'rollout', status: 'failed', detail: rollout.failures.map((f) => `${f.service}: ${f.reason}`).join('; '), elapsedMs: Date.now() - t0})
    else emit({type: 'step', step: 'rollout', status: 'done', detail: `${record.changed.length} of ${plan.services.length} services changed`, elapsedMs: Date.now() - t0})
    if (rollout.failures.length === 0) {
      const verifyFailures = await step(
        'verify',
        async () => {
          const failures = target.type === 'swarm' ? await verifySwarm(prepared.conn.engine, plan.project, Object.keys(loaded.project.services)) : await verifyCompose(prepared.conn.engine, loaded, Math.max(deadline, Date.now() + 15_000), prepared.conn.endpoint.host)
          if (failures.length > 0) throw failed(failures)
          return failures
        },
        () => `${Object.keys(loaded.project.services).length} services healthy`,
      ).catch((error: Error) => (error instanceof DeployFailedError ? error.failures : Promise.reject(error)))
      rollout.failures = verifyFailures
    } else {
      emit({type: 'step', step: 'verify', status: 'skipped', detail: 'the rollout failed'})
    }
  } catch (error) {
    if (error instanceof AbortedError || signal?.aborted) return interrupted('during the rollout')
    record.error = (error as Error).message
    record.finishedAt = new Date().toISOString()
    await writeRecord(prepared, record, emit)
    throw error
  }

  if (rollout.failures.length > 0) {
    const failures = rollout.failures
    record.error = failures.map((f) => `${f.service}: ${f.reason}`).join('; ')
    let problems: string[] = []
    if (!rollout.canUndo) {
      emit({type: 'step', step: 'rollback', status: 'skipped', detail: 'first deployment: there is no previous version'})
      problems = [`first deployment: there is no previous version to return to; the failed services are left for inspection (${target.type === 'swarm' ? `docker stack rm ${plan.project}` : `DOCKER_HOST=${plan.host} tta clean --project-name ${plan.project}`} removes them)`]
    } else {
      problems = await step('rollback', () => rollout.undo(), (p) => (p.length > 0 ? `incomplete: ${p.join('; ')}` : `${plan.currentVersion ?? 'the previous version'} runs again`)).catch((error: Error) => [error.message])
    }
    if (signal?.aborted) return interrupted('while rolling back a failed rollout')
    record.result = problems.length === 0 ? 'rolled-back' : 'failed'
    record.activeVersion = problems.length === 0 ? plan.currentVersion : undefined
    record.finishedAt = new Date().toISOString()
    await writeRecord(prepared, record, emit)
    throw new DeployFailedError(`${plan.action === 'rollback' ? 'rollback to' : 'deploy of'} ${plan.version} to ${target.name} failed: ${failures.map((f) => f.service).join(', ')} did not get healthy`, failures, problems.length === 0 ? (plan.currentVersion ?? 'the previous state') : undefined, record, problems)
  }

  // Deployed and healthy: what the files no longer have goes now (a failed rollout still needed it).
  if (target.type === 'swarm') {
    const removed = await step(
      'cleanup',
      async () => {
        const cleaned = await cleanupSwarm(prepared.conn.engine, plan.project, Object.keys(loaded.project.services), emit)
        for (const problem of cleaned.problems) emit({type: 'note', message: `cleanup: ${problem}`})
        return cleaned
      },
      (c) => (c.services.length + c.secrets.length + c.configs.length === 0 ? 'nothing unused' : `removed ${[c.services.length > 0 ? `services ${c.services.join(', ')}` : '', c.secrets.length > 0 ? `${c.secrets.length} secret${c.secrets.length === 1 ? '' : 's'}` : '', c.configs.length > 0 ? `${c.configs.length} config${c.configs.length === 1 ? '' : 's'}` : ''].filter(Boolean).join(', ')}`),
    ).catch((error: Error) => {
      emit({type: 'note', message: `cleanup did not finish (${error.message.split('\n')[0]}); the next deployment tries again`})
      return undefined
    })
    if (removed && removed.services.length > 0) record.removed = removed.services
  } else {
    emit({type: 'step', step: 'cleanup', status: 'skipped', detail: plan.orphans.length > 0 ? `compose targets keep ${plan.orphans.join(', ')}` : 'nothing to clean up'})
  }

  record.result = 'succeeded'
  record.activeVersion = plan.version
  record.finishedAt = new Date().toISOString()
  await writeRecord(prepared, record, emit)
  return {record, plan}
}

/** What an interrupted rollout left, in a sentence for the record and the error. */
function interruptedState(prepared: PreparedDeploy, record: DeployRecord): string {
  const changed = record.changed
  if (prepared.target.type === 'swarm') {
    const untouched = prepared.plan.services.filter((s) => s.change !== 'unchanged' && s.change !== 'remove' && !changed.includes(s.service)).map((s) => s.service)
    const sent = changed.length > 0 ? `${changed.join(', ')} ${changed.length === 1 ? 'was' : 'were'} told to update and swarm finishes (or rolls back) ${changed.length === 1 ? 'it' : 'them'} by update_config` : 'no service had been updated yet'
    return `${sent}${untouched.length > 0 ? `; ${untouched.join(', ')} still run${untouched.length === 1 ? 's' : ''} the previous version` : ''}`
  }
  return 'the target may run a mix of the previous and the new version'
}

async function writeRecord(prepared: PreparedDeploy, record: DeployRecord, emit: DeployEmit): Promise<void> {
  const t0 = Date.now()
  emit({type: 'step', step: 'record', status: 'start'})
  const problems: string[] = []
  try {
    saveRecord(prepared.request.workspace.root, record)
  } catch (error) {
    problems.push(`workspace history: ${(error as Error).message}`)
  }
  try {
    const {engine} = prepared.conn
    if (prepared.target.type === 'swarm') await writeSwarmRecord(engine, prepared.plan.project, record)
    else {
      const image = Object.values(record.images).find(Boolean)
      if (image) await writeComposeRecords(engine, prepared.plan.project, image, mergeHistory(await readComposeRecords(engine, prepared.plan.project), [record]))
    }
  } catch (error) {
    problems.push(`target: ${(error as Error).message}`)
  }
  if (problems.length > 0) emit({type: 'note', message: `history not fully recorded: ${problems.join('; ')}`})
  emit({type: 'step', step: 'record', status: problems.length > 0 ? 'failed' : 'done', detail: `${record.version} ${record.result}`, elapsedMs: Date.now() - t0})
}

async function rolloutCompose(prepared: PreparedDeploy, record: DeployRecord, deadline: number, emit: DeployEmit, signal?: AbortSignal) {
  const {conn, loaded} = prepared
  const snapshot = await snapshotProject(conn.engine, loaded.project.name)
  const undo = async (): Promise<string[]> => {
    const restored = await restoreSnapshot(conn, loaded, snapshot, {deadline: Date.now() + 120_000, emit})
    return restored.problems
  }
  try {
    const result = await up(conn, loaded, {timeoutMs: Math.max(1000, deadline - Date.now()), signal, emit: (event) => emit({type: 'engine', event})})
    record.changed = Object.values(result.plan.services).filter((s) => s.action !== 'keep').map((s) => s.service).sort()
    return {failures: [] as Array<{service: string; reason: string; logs: string[]}>, undo, canUndo: snapshot.size > 0}
  } catch (error) {
    if (!(error instanceof UpFailedError)) throw error
    record.changed = changedServices(prepared.plan)
    return {failures: error.failures.map((f) => ({service: f.service, reason: f.reason, logs: f.logs})), undo, canUndo: snapshot.size > 0}
  }
}

async function rolloutSwarm(prepared: PreparedDeploy, images: Record<string, string>, record: DeployRecord, deadline: number, emit: DeployEmit, signal?: AbortSignal) {
  const {conn, loaded, plan} = prepared
  const stack = plan.project
  const ctx = swarmContext(prepared, images)
  const {ensureStackObjects} = await import('./swarm.js')
  const services = stackServices(loaded.project)
  ctx.fileIds = await ensureStackObjects(conn.engine, loaded.project, stack, ctx.files, services)
  const specs: SwarmServiceSpec[] = services.map((name) => swarmServiceSpec(ctx, name))
  const options: ApplyOptions = {
    conn,
    project: loaded.project,
    stack,
    specs,
    files: ctx.files,
    deployLabels: {[DeployLabel.env]: plan.env, [DeployLabel.version]: plan.version, [DeployLabel.at]: record.startedAt, [DeployLabel.by]: record.by},
    auth: prepared.auth ?? {username: '', password: '', serveraddress: ''},
    deadline,
    signal,
    emit,
  }
  const existedBefore = (await observeStack(conn.engine, stack)).size > 0
  const result = await applySwarm(options)
  record.changed = result.changed.sort()
  const failures: SwarmFailure[] = result.failures
  return {failures, undo: () => rollbackSwarm(options, result), canUndo: existedBefore}
}

/** `--history`: the workspace's records merged with the target's, when it answers. */
export async function deployHistory(request: Pick<DeployRequest, 'workspace' | 'env' | 'projectName' | 'environment'>): Promise<{records: DeployRecord[]; target: DeployTarget; targetNote?: string}> {
  const target = findTarget(request.workspace, request.env)
  const local = readHistory(request.workspace.root).filter((r) => r.env === target.name)
  const project = request.projectName ?? target.projectName ?? projectNameFor({workspace: request.workspace})
  try {
    const conn = await connectTarget(target, request.environment ?? process.env)
    const remote = (await targetRecords(target, conn, project)).filter((r) => r.env === target.name)
    return {records: mergeHistory(local, remote), target}
  } catch (error) {
    return {records: local, target, targetNote: `the target did not answer (${(error as Error).message.split('\n')[0]}): showing this workspace's history only`}
  }
}
