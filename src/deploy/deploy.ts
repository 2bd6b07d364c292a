import {randomUUID} from 'node:crypto'
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

import type {LoadedProject, Service} from '../compose/model.js'
import {connectEngine, type EngineConnection} from '../docker/client.js'
import {IDENTITY_ENV} from '../docker/ssh/settings.js'
import {applyImageMap, buildImage} from '../engine/images.js'
import {observe} from '../engine/observe.js'
import {planUp} from '../engine/plan.js'
import {AbortedError} from '../engine/readiness.js'
import {serviceHash} from '../engine/spec.js'
import {UpFailedError, up} from '../engine/up.js'
import {ExitCode, InputError, TtaError} from '../errors.js'
import {bundledComposeDir} from '../paths.js'
import type {DeployTarget} from '../workspace/deploy-config.js'
import {loadWorkspaceProject, projectNameFor} from '../workspace/project.js'
import type {Workspace} from '../workspace/workspace.js'
import {backupBeforeDeploy} from './backup-hook.js'
import {readComposeRecords, restoreSnapshot, snapshotProject, verifyCompose, writeComposeRecords} from './compose-target.js'
import type {DeployEmit, DeployStep} from './events.js'
import {activeVersion, mergeHistory, readHistory, rollbackChoice, saveRecord, type DeployRecord} from './history.js'
import {changedServices, type DeployPlan, type ServiceStep} from './plan.js'
import {deployImageRef, pushImage, registryAnswers, registryAuth, registryHost, type RegistryAuth} from './registry.js'
import {applySwarm, assertSwarmManager, observeStack, readSwarmRecords, rollbackSwarm, stackServices, verifySwarm, writeSwarmRecord, type ApplyOptions, type SwarmFailure} from './swarm.js'
import {cleanupSwarm, planSwarmCleanup, stackServiceOf} from './swarm-cleanup.js'
import {refuseBoundSwarmPorts} from './swarm-ports.js'
import {DeployLabel, swarmFiles, swarmServiceSpec, type SwarmContext, type SwarmServiceSpec} from './swarm-spec.js'
import {deployer, readGitState, resolveVersion, type GitState} from './version.js'

export interface DeployRequest {
  workspace: Workspace
  cwd: string
  env: string
  /** --project-name */
  projectName?: string
  /** --version: what to deploy, or with rollback, what to return to. */
  version?: string
  rollback?: boolean
  allowDirty?: boolean
  /** --timeout in seconds; default: the target's. */
  timeoutS?: number
  environment?: NodeJS.ProcessEnv
  /** tta's own version, written into backup manifests. */
  ttaVersion?: string
}

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

/** Everything a deployment decided before changing anything; `runDeploy` carries it out. */
export interface PreparedDeploy {
  request: DeployRequest
  target: DeployTarget
  plan: DeployPlan
  conn: EngineConnection
  /** The engine images are built on (this machine's); the target's when they are the same. */
  buildConn?: EngineConnection
  git: GitState
  /** The project as the target will run it: built services point at their deployed images. */
  loaded: LoadedProject
  /** Built services as they must be built (image = the deployed reference). */
  builds: Service[]
  history: DeployRecord[]
  /** With --rollback: the record whose images run again. */
  rollbackFrom?: DeployRecord
  nodes: number
  auth?: RegistryAuth
  timeoutMs: number
}

export interface DeployResult {
  record: DeployRecord
  plan: DeployPlan
}

/** The bundled files a target deploys unless it names its own: the core stack plus the overlay named like it. */
export function defaultDeployFiles(env: string): string[] {
  const overlay = join(bundledComposeDir, `docker-compose.${env}.yml`)
  return [join(bundledComposeDir, 'docker-compose.yml'), ...(existsSync(overlay) ? [overlay] : [])]
}

export function findTarget(workspace: Workspace, env: string): DeployTarget {
  const targets = workspace.config.deploy ?? {}
  const target = targets[env]
  if (target) return target
  const known = Object.keys(targets)
  throw new TtaError(
    `no deploy target "${env}" in ${workspace.config.file ?? join(workspace.root, 'tta.config.yaml')}${known.length > 0 ? ` (targets: ${known.join(', ')})` : ''}`,
    ExitCode.badInput,
    `add one: deploy:\n      ${env}: {type: compose | swarm, host: ssh://user@host, registry: registry.example.com:5000}`,
  )
}

async function connectTarget(target: DeployTarget, environment: NodeJS.ProcessEnv): Promise<EngineConnection> {
  const env = target.host ? {...environment, DOCKER_HOST: target.host, DOCKER_CONTEXT: undefined, ...(target.identityFile ? {[IDENTITY_ENV]: target.identityFile} : {})} : environment
  try {
    return await connectEngine(env)
  } catch (error) {
    if (error instanceof TtaError) throw new TtaError(`target ${target.name}: ${error.message}`, error.exitCode, error.hint)
    throw error
  }
}

function stepper(emit: DeployEmit) {
  return async <T>(step: DeployStep, work: () => Promise<T>, done?: (value: T) => string | undefined): Promise<T> => {
    const t0 = Date.now()
    emit({type: 'step', step, status: 'start'})
    try {
      const value = await work()
      emit({type: 'step', step, status: 'done', detail: done?.(value), elapsedMs: Date.now() - t0})
      return value
    } catch (error) {
      emit({type: 'step', step, status: 'failed', detail: (error as Error).message.split('\n')[0], elapsedMs: Date.now() - t0})
      throw error
    }
  }
}

/** Target records are a copy; when the target cannot say, the workspace history is enough. */
async function targetRecords(target: DeployTarget, conn: EngineConnection, project: string): Promise<DeployRecord[]> {
  try {
    return target.type === 'swarm' ? await readSwarmRecords(conn.docker, project) : await readComposeRecords(conn.docker, project)
  } catch {
    return []
  }
}

/**
 * Preflight and plan: the target answers (and is a swarm manager for swarm), the tree is clean,
 * the registry answers; the version and its images are decided and the plan computed. Changes
 * nothing anywhere.
 */
export async function prepareDeploy(request: DeployRequest, emit: DeployEmit): Promise<PreparedDeploy> {
  const {workspace} = request
  const target = findTarget(workspace, request.env)
  const environment = request.environment ?? process.env
  const step = stepper(emit)
  return step(
    'preflight',
    async () => {
      const git = await readGitState(workspace.root)
      if (!request.rollback && git.dirty.length > 0 && !request.allowDirty) {
        const shown = git.dirty.slice(0, 5).join(', ') + (git.dirty.length > 5 ? ` and ${git.dirty.length - 5} more` : '')
        throw new TtaError(`the working tree has uncommitted changes: ${shown}`, ExitCode.failed, 'commit or stash them, so the deployed version is what git says; or pass --allow-dirty')
      }
      const projectName = request.projectName ?? target.projectName ?? projectNameFor({workspace})
      const conn = await connectTarget(target, environment)
      const nodes = target.type === 'swarm' ? await assertSwarmManager(conn, target.name) : 1

      const history = mergeHistory(readHistory(workspace.root), await targetRecords(target, conn, projectName))
      let version: string
      let rollbackImages: Record<string, string> | undefined
      let rollbackFrom: DeployRecord | undefined
      if (request.rollback) {
        const choice = rollbackChoice(history, target.name, request.version)
        if ('problem' in choice) throw new TtaError(`cannot roll back: ${choice.problem}`, ExitCode.failed, `see \`tta deploy ${target.name} --history\``)
        version = choice.version
        rollbackImages = choice.images
        rollbackFrom = choice.from
      } else {
        version = resolveVersion(request.version, git)
      }

      const loaded = loadWorkspaceProject({
        workspace,
        cwd: request.cwd,
        files: target.files ?? defaultDeployFiles(target.name),
        projectName,
        environment: {...environment, TTA_VERSION: version, TTA_DEPLOY_ENV: target.name},
      })
      loaded.project = applyImageMap(loaded.project, workspace.config.images)
      const unknownReplicas = Object.keys(target.replicas).filter((s) => !loaded.project.services[s])
      if (unknownReplicas.length > 0) {
        const first = unknownReplicas[0] as string
        throw new InputError(`no service "${first}" in the deployed compose files (services: ${Object.keys(loaded.project.services).sort().join(', ')})`, target.replicasPositions[first], `deploy.${target.name}.replicas.${first}`)
      }

      if (target.type === 'swarm') refuseBoundSwarmPorts(loaded, target)

      const builtServices = Object.values(loaded.project.services).filter((s) => s.build)
      const builds: Service[] = []
      const services: Record<string, Service> = {}
      for (const service of Object.values(loaded.project.services)) {
        if (!service.build) {
          services[service.name] = service
          continue
        }
        let image: string
        if (rollbackImages) {
          const recorded = rollbackImages[service.name]
          if (!recorded) throw new TtaError(`cannot roll back to ${version}: it has no image recorded for ${service.name}`, ExitCode.failed, 'roll back to a version that had this service (--rollback --version V)')
          image = recorded
        } else {
          image = deployImageRef(target.registry, service.image ?? `${projectName}-${service.name}`, version)
          builds.push({...service, image})
        }
        const {build: _build, ...rest} = service
        services[service.name] = {...rest, image}
      }
      const deployed: LoadedProject = {...loaded, project: {...loaded.project, services}}

      let buildConn: EngineConnection | undefined
      if (builds.length > 0) {
        buildConn = target.host ? await connectEngine(environment) : conn
        const sameEngine = buildConn.endpoint.host === conn.endpoint.host
        if (!target.registry && (!sameEngine || nodes > 1)) {
          throw new TtaError(
            `target ${target.name}: no registry to push ${builtServices.map((s) => s.name).join(', ')} to, and the target ${sameEngine ? 'has other nodes that' : 'engine'} cannot see images built here`,
            ExitCode.badInput,
            `set deploy.${target.name}.registry in tta.config.yaml (a registry both this machine and the target reach)`,
          )
        }
      }
      let auth: RegistryAuth | undefined
      if (target.registry) {
        const answer = await registryAnswers(target.registry)
        if (!answer.ok && builds.length > 0) {
          throw new TtaError(`registry ${target.registry} does not answer: ${answer.detail}`, ExitCode.failed, 'start it, or fix deploy.' + target.name + '.registry')
        }
        auth = await registryAuth(registryHost(target.registry), environment)
      }

      const currentVersion = activeVersion(history, target.name)
      const plan: DeployPlan = {
        env: target.name,
        type: target.type,
        host: conn.endpoint.host,
        project: projectName,
        action: request.rollback ? 'rollback' : 'deploy',
        version,
        currentVersion,
        registry: target.registry,
        builds: builds.map((s) => ({service: s.name, image: s.image as string, push: Boolean(target.registry)})),
        services: [],
        orphans: [],
        backup: target.backupFirst,
        notes: [...loaded.warnings],
      }
      const prepared: PreparedDeploy = {
        request,
        target,
        plan,
        conn,
        buildConn,
        git,
        loaded: deployed,
        builds,
        history,
        rollbackFrom,
        nodes,
        auth,
        timeoutMs: (request.timeoutS ?? target.timeout) * 1000,
      }
      if (target.type === 'swarm') await planSwarm(prepared)
      else await planCompose(prepared)
      emit({type: 'plan', plan})
      return prepared
    },
    (p) => `${p.target.type} at ${p.conn.endpoint.host} (engine ${p.conn.version}${p.target.type === 'swarm' ? `, ${p.nodes} node${p.nodes === 1 ? '' : 's'}` : ''}), version ${p.plan.version}${p.git.isRepo ? `, git ${p.git.commit?.slice(0, 8) ?? 'no commit'}${p.git.dirty.length > 0 ? ' (dirty)' : ''}` : ''}`,
  )
}

async function planCompose(prepared: PreparedDeploy): Promise<void> {
  const {conn, loaded, plan} = prepared
  const {project} = loaded
  const targets = Object.keys(project.services).sort()
  const observed = await observe(conn.docker, project.name)
  const hashes = Object.fromEntries(targets.map((name) => [name, serviceHash(project.services[name] as Service, conn.apiVersion)]))
  const up = planUp({project, targets, observed, hashes, imageIds: {}})
  for (const name of up.levels.flat()) {
    const step = up.services[name]
    if (!step) continue
    const change = step.action === 'keep' ? 'unchanged' : step.action === 'start' ? 'update' : step.action
    const currentImage = step.current?.image
    const image = project.services[name]?.image ?? ''
    const reason = step.action === 'recreate' && currentImage && currentImage !== image ? `image ${currentImage} → ${image}` : step.reason
    plan.services.push({service: name, change, reason, image})
  }
  plan.orphans = [...new Set(observed.containers.map((c) => c.service))].filter((s) => s && !project.services[s]).sort()
}

function swarmContext(prepared: PreparedDeploy, images: Record<string, string>, fileIds?: Record<string, string>): SwarmContext {
  const {loaded, target} = prepared
  const read = (path: string): Buffer => readFileSync(path)
  return {
    loaded,
    stack: loaded.project.name,
    apiVersion: prepared.conn.apiVersion,
    images,
    replicas: target.replicas,
    publishMode: target.publishMode,
    nodes: prepared.nodes,
    files: swarmFiles(loaded, loaded.project.name, read, {...(prepared.request.environment ?? process.env), ...loaded.environment}),
    fileIds,
  }
}

async function planSwarm(prepared: PreparedDeploy): Promise<void> {
  const {conn, loaded, plan} = prepared
  const ctx = swarmContext(prepared, {})
  const current = await observeStack(conn.docker, loaded.project.name)
  const notes = new Set<string>()
  for (const name of stackServices(loaded.project)) {
    const spec = swarmServiceSpec(ctx, name)
    spec.notes.forEach((n) => notes.add(n))
    const existing = current.get(name)
    let step: ServiceStep
    if (!existing) step = {service: name, change: 'create', reason: 'new service', image: spec.image, replicas: spec.replicas}
    else if (existing.Spec.Labels?.[DeployLabel.specHash] === spec.hash) step = {service: name, change: 'unchanged', reason: '', image: spec.image, replicas: spec.replicas}
    else {
      const before = existing.Spec.Labels?.[DeployLabel.stackImage]
      const reason = before && before.split('@')[0] !== spec.image ? `image ${before.split('@')[0]} → ${spec.image}, ${spec.order}` : `settings changed, ${spec.order}`
      step = {service: name, change: 'update', reason, image: spec.image, replicas: spec.replicas}
    }
    plan.services.push(step)
  }
  // Services tta created that the files no longer have go after a successful rollout; others stay.
  const cleanup = planSwarmCleanup({stack: loaded.project.name, wanted: Object.keys(loaded.project.services), services: [...current].map(([name, info]) => stackServiceOf(name, info)), secrets: [], configs: []})
  for (const {service} of cleanup.services) {
    const info = current.get(service)
    const mode = info?.Spec.Mode
    plan.services.push({
      service,
      change: 'remove',
      reason: 'no longer in the compose files; removed after a successful rollout',
      image: (info?.Spec.Labels?.[DeployLabel.stackImage] ?? '').split('@')[0] ?? '',
      replicas: mode?.Global ? 'global' : (mode?.Replicated?.Replicas ?? 1),
    })
  }
  plan.orphans = cleanup.kept
  plan.notes.push(...notes)
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
              await buildImage((prepared.buildConn ?? prepared.conn).docker, {project: plan.project, service, signal, onOutput: (line) => emit({type: 'build-output', service: service.name, line})})
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
              digest = await pushImage((prepared.buildConn ?? prepared.conn).docker, ref, prepared.auth as RegistryAuth, (p) => emit({type: 'push-progress', image: ref, current: p.current, total: p.total}), signal)
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
          const failures = target.type === 'swarm' ? await verifySwarm(prepared.conn.docker, plan.project, Object.keys(loaded.project.services)) : await verifyCompose(prepared.conn.docker, loaded, Math.max(deadline, Date.now() + 15_000), prepared.conn.endpoint.host)
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
        const cleaned = await cleanupSwarm(prepared.conn.docker, plan.project, Object.keys(loaded.project.services), emit)
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
    const {docker} = prepared.conn
    if (prepared.target.type === 'swarm') await writeSwarmRecord(docker, prepared.plan.project, record)
    else {
      const image = Object.values(record.images).find(Boolean)
      if (image) await writeComposeRecords(docker, prepared.plan.project, image, mergeHistory(await readComposeRecords(docker, prepared.plan.project), [record]))
    }
  } catch (error) {
    problems.push(`target: ${(error as Error).message}`)
  }
  if (problems.length > 0) emit({type: 'note', message: `history not fully recorded: ${problems.join('; ')}`})
  emit({type: 'step', step: 'record', status: problems.length > 0 ? 'failed' : 'done', detail: `${record.version} ${record.result}`, elapsedMs: Date.now() - t0})
}

async function rolloutCompose(prepared: PreparedDeploy, record: DeployRecord, deadline: number, emit: DeployEmit, signal?: AbortSignal) {
  const {conn, loaded} = prepared
  const snapshot = await snapshotProject(conn.docker, loaded.project.name)
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
  ctx.fileIds = await ensureStackObjects(conn.docker, loaded.project, stack, ctx.files, services)
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
  const existedBefore = (await observeStack(conn.docker, stack)).size > 0
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
