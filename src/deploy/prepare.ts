// Everything a deployment decides before it changes anything: target, version, plan, builds.
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

import type {LoadedProject, Service} from '../compose/model.js'
import {connectEngine, type EngineConnection} from '../docker/client.js'
import {IDENTITY_ENV} from '../docker/ssh/settings.js'
import {applyImageMap} from '../engine/images.js'
import {observe} from '../engine/observe.js'
import {planUp} from '../engine/plan.js'
import {serviceHash} from '../engine/spec.js'
import {ExitCode, InputError, TtaError} from '../errors.js'
import {bundledComposeDir} from '../paths.js'
import type {DeployTarget} from '../workspace/deploy-config.js'
import {loadWorkspaceProject, projectNameFor} from '../workspace/project.js'
import type {Workspace} from '../workspace/workspace.js'
import {readComposeRecords} from './compose-target.js'
import {stepper, type DeployEmit} from './events.js'
import {activeVersion, mergeHistory, readHistory, rollbackChoice, type DeployRecord} from './history.js'
import {type DeployPlan, type ServiceStep} from './plan.js'
import {deployImageRef, registryAnswers, registryAuth, registryHost, type RegistryAuth} from './registry.js'
import {planSwarmCleanup, stackServiceOf} from './swarm-cleanup.js'
import {refuseBoundSwarmPorts} from './swarm-ports.js'
import {DeployLabel, swarmFiles, swarmServiceSpec, type SwarmContext} from './swarm-spec.js'
import {assertSwarmManager, observeStack, readSwarmRecords, stackServices} from './swarm.js'
import {readGitState, resolveVersion, type GitState} from './version.js'

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

export async function connectTarget(target: DeployTarget, environment: NodeJS.ProcessEnv): Promise<EngineConnection> {
  const env = target.host ? {...environment, DOCKER_HOST: target.host, DOCKER_CONTEXT: undefined, ...(target.identityFile ? {[IDENTITY_ENV]: target.identityFile} : {})} : environment
  try {
    return await connectEngine(env)
  } catch (error) {
    if (error instanceof TtaError) throw new TtaError(`target ${target.name}: ${error.message}`, error.exitCode, error.hint)
    throw error
  }
}

/** Target records are a copy; when the target cannot say, the workspace history is enough. */
export async function targetRecords(target: DeployTarget, conn: EngineConnection, project: string): Promise<DeployRecord[]> {
  try {
    return target.type === 'swarm' ? await readSwarmRecords(conn.engine, project) : await readComposeRecords(conn.engine, project)
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
  const observed = await observe(conn.engine, project.name)
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

export function swarmContext(prepared: PreparedDeploy, images: Record<string, string>, fileIds?: Record<string, string>): SwarmContext {
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
  const current = await observeStack(conn.engine, loaded.project.name)
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
