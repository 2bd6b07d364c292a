import {existsSync, statfsSync, statSync} from 'node:fs'

import type {LoadedProject} from '../compose/model.js'
import {connectEngine, type EngineConnection} from '../docker/client.js'
import {resolveEndpoint} from '../docker/endpoint.js'
import {TtaError} from '../errors.js'
import {observeContainers} from '../engine/observe.js'
import {findPortConflicts, findPortHolder, portsAreLocal} from '../engine/ports.js'
import {detectHostContext, type HostContext} from '../workspace/devcontainer.js'
import {loadWorkspaceProject, projectNameFor} from '../workspace/project.js'
import {withRecordedPorts} from '../workspace/port-state.js'
import {GENERATED_SECRETS} from '../workspace/secrets.js'
import type {Workspace} from '../workspace/workspace.js'

export type CheckStatus = 'ok' | 'warn' | 'fail' | 'info'

export interface Check {
  id: string
  title: string
  status: CheckStatus
  detail: string
  fix?: string
}

export interface DoctorReport {
  ok: boolean
  checks: Check[]
}

const GiB = 1024 ** 3

/** Free space below which `tta dev` is likely to fail mid-pull or mid-write. */
export const MIN_FREE_DISK = 5 * GiB
/** Memory the full stack (neo4j's JVM, postgres, five APIs, monitoring) wants to be comfortable. */
export const RECOMMENDED_MEMORY = 4 * GiB

export interface DoctorInput {
  workspace: Workspace
  cwd: string
  projectName?: string
  env?: NodeJS.ProcessEnv
  /** Compose plugin version, looked up by the caller (it needs a subprocess). */
  composeVersion?: string
}

/**
 * Preflight for `tta dev`: everything that can be known before creating anything. A "fail"
 * blocks `tta dev`; a "warn" is worth fixing. Never throws for what it checks.
 */
export async function runDoctor(input: DoctorInput): Promise<DoctorReport> {
  const env = input.env ?? process.env
  const checks: Check[] = []
  const {workspace} = input

  checks.push({
    id: 'workspace',
    title: 'workspace',
    status: 'ok',
    detail: `${workspace.root} (found by ${workspace.foundBy})${workspace.config.file ? `, ${workspace.config.file}` : ', no tta.config.yaml (defaults)'}`,
  })

  let loaded: LoadedProject | undefined
  try {
    // The ports `tta dev` allocated for this checkout (.tta/ports.json) are the ones to check.
    const environment = withRecordedPorts(workspace, projectNameFor({projectName: input.projectName, workspace}), {...env, ...secretsPlaceholder(env)})
    loaded = loadWorkspaceProject({workspace, cwd: input.cwd, mode: 'full', projectName: input.projectName, environment})
    checks.push({id: 'compose', title: 'compose files', status: 'ok', detail: `${loaded.configFiles.length} files, ${Object.keys(loaded.project.services).length} services (mode full)`})
  } catch (error) {
    checks.push({id: 'compose', title: 'compose files', status: 'fail', detail: (error as Error).message.split('\n').slice(0, 4).join(' | '), fix: 'run `tta config --mode full` for every problem with its file:line'})
  }

  checks.push(envFileCheck(workspace.envFile))

  let conn: EngineConnection | undefined
  try {
    conn = await connectEngine(env)
    const endpoint = conn.endpoint
    checks.push({
      id: 'engine',
      title: 'Docker engine',
      status: 'ok',
      detail: `${conn.version} (API ${conn.apiVersion}) at ${endpoint.host}${endpoint.context ? `, context ${endpoint.context}` : ''}${input.composeVersion ? `; compose plugin ${input.composeVersion}` : '; no compose plugin (tta does not need it)'}`,
    })
  } catch (error) {
    const err = error as TtaError
    checks.push({id: 'engine', title: 'Docker engine', status: 'fail', detail: err.message, fix: err.hint})
    const endpoint = safeEndpoint(env)
    if (endpoint) checks.push({id: 'context', title: 'docker endpoint', status: 'info', detail: `${endpoint.host} (${endpoint.source})`})
    return {ok: false, checks}
  }

  let host: HostContext | undefined
  try {
    host = await detectHostContext(conn.engine, workspace.root, env)
    checks.push({
      id: 'devcontainer',
      title: 'devcontainer',
      status: 'ok',
      detail: !host.detection.inContainer
        ? 'not in a container'
        : host.engineIsOutside
          ? `in a container (${host.detection.evidence.join(', ')}); the engine is the host's; bind sources translated via ${host.via}${host.mappings[0] ? ` (${host.mappings[0].container} -> ${host.mappings[0].host})` : ''}`
          : `in a container (${host.detection.evidence.join(', ')}); the engine sees the same filesystem, no translation needed`,
    })
  } catch (error) {
    checks.push({id: 'devcontainer', title: 'devcontainer', status: 'warn', detail: `could not tell: ${(error as Error).message}`})
  }

  const info = (await conn.engine.system.info()) as {DockerRootDir?: string; MemTotal?: number; NCPU?: number}
  checks.push(diskCheck(info.DockerRootDir, host?.engineIsOutside ?? false))
  checks.push(memoryCheck(info.MemTotal, info.NCPU))

  if (loaded) checks.push(await portsCheck(conn, loaded, host?.engineIsOutside ?? false))

  return {ok: !checks.some((c) => c.status === 'fail'), checks}
}

/** Doctor must not fail on secrets `tta dev` would generate: stand in for the missing ones. */
function secretsPlaceholder(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(GENERATED_SECRETS.filter((n) => !env[n]).map((n) => [n, 'doctor-placeholder']))
}

function safeEndpoint(env: NodeJS.ProcessEnv): ReturnType<typeof resolveEndpoint> | undefined {
  try {
    return resolveEndpoint(env)
  } catch {
    return undefined
  }
}

export function envFileCheck(envFile: string): Check {
  if (!existsSync(envFile)) return {id: 'env', title: '.env', status: 'info', detail: `${envFile} not there yet; \`tta dev\` generates it (mode 0600)`}
  const mode = statSync(envFile).mode & 0o777
  if (mode & 0o077) {
    return {id: 'env', title: '.env', status: 'warn', detail: `${envFile} is readable by others (mode ${mode.toString(8)}); it holds the stack's passwords`, fix: `chmod 600 ${envFile}`}
  }
  return {id: 'env', title: '.env', status: 'ok', detail: `${envFile} (mode ${mode.toString(8).padStart(3, '0')})`}
}

export function diskCheck(rootDir: string | undefined, engineIsOutside: boolean): Check {
  if (!rootDir || engineIsOutside || !existsSync(rootDir)) {
    return {id: 'disk', title: 'disk', status: 'info', detail: `engine data root ${rootDir ?? '?'} is not visible from here; free space not checked`}
  }
  const stats = statfsSync(rootDir)
  const free = stats.bavail * stats.bsize
  const text = `${(free / GiB).toFixed(1)} GiB free on ${rootDir}`
  return free < MIN_FREE_DISK
    ? {id: 'disk', title: 'disk', status: 'warn', detail: text, fix: 'free some space: `tta clean --images`, `docker system prune`'}
    : {id: 'disk', title: 'disk', status: 'ok', detail: text}
}

export function memoryCheck(total: number | undefined, cpus: number | undefined): Check {
  if (!total) return {id: 'memory', title: 'memory', status: 'info', detail: 'unknown'}
  const text = `${(total / GiB).toFixed(1)} GiB, ${cpus ?? '?'} CPUs available to the engine`
  return total < RECOMMENDED_MEMORY
    ? {id: 'memory', title: 'memory', status: 'warn', detail: `${text}; the full stack wants about ${RECOMMENDED_MEMORY / GiB} GiB`, fix: 'give the engine more memory, or run `tta dev` without the monitoring stack'}
    : {id: 'memory', title: 'memory', status: 'ok', detail: text}
}

async function portsCheck(conn: EngineConnection, loaded: LoadedProject, engineIsOutside: boolean): Promise<Check> {
  if (!portsAreLocal(conn.endpoint, engineIsOutside)) {
    return {id: 'ports', title: 'ports', status: 'info', detail: 'the engine publishes ports on another machine; not checked from here'}
  }
  const mine = await observeContainers(conn.engine, loaded.project.name)
  const ownPorts = new Set<number>()
  for (const c of mine) {
    const info = await conn.engine.containers.inspect(c.id).catch(() => undefined)
    for (const bindings of Object.values(info?.HostConfig.PortBindings ?? {}) as Array<Array<{HostPort?: string}> | null>) {
      for (const b of bindings ?? []) if (b.HostPort) ownPorts.add(Number(b.HostPort))
    }
  }
  const claims = Object.values(loaded.project.services).flatMap((s) =>
    (s.ports ?? []).filter((p) => p.published && p.protocol === 'tcp').map((p) => ({service: s.name, host: p.host_ip || '0.0.0.0', port: Number(p.published)})),
  )
  const conflicts = (await findPortConflicts(claims.filter((c) => !ownPorts.has(c.port)))).sort((a, b) => a.port - b.port)
  if (conflicts.length === 0) {
    return {id: 'ports', title: 'ports', status: 'ok', detail: `${claims.length} ports free or held by this project's own containers`}
  }
  const lines: string[] = []
  for (const c of conflicts) lines.push(`${c.host}:${c.port} (${c.service}) is taken by ${(await findPortHolder(conn.engine, c.port)) ?? 'an unknown process'}`)
  return {id: 'ports', title: 'ports', status: 'fail', detail: lines.join('; '), fix: 'stop what holds them, or move tta: set TTA_<SERVICE>_PORT in the workspace .env'}
}
