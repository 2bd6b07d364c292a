import {inspectTarget, strategyFor, type Target} from '../backup/targets.js'
import type {ContainerTaskSpec, EnginePort} from '../docker/port.js'
import {ExitCode, TtaError} from '../errors.js'
import {observeStack, type SwarmTaskInfo} from './swarm.js'

/**
 * `backupFirst` on a swarm target: tta's backup strategies work on a container through the
 * engine that runs it (exec pg_dump / redis-cli, or a one-off container sharing its volumes).
 * A swarm task is such a container on the node it was scheduled to, so the stack's datastores
 * can be backed up when their tasks run on the manager tta talks to; a datastore task on
 * another node cannot be reached from there, and the deployment stops rather than skip it.
 */

export interface StackServiceForBackup {
  service: string
  id: string
  image: string
  /** Named volumes the service mounts. */
  volumes: number
}

export interface BackupTaskChoice {
  /** service -> container id on this node */
  local: Map<string, string>
  /** Datastores whose running task is on another node. */
  remote: Array<{service: string; node: string}>
  /** Services with data but no running task: nothing to back up now. */
  notRunning: string[]
}

/** One running task per stateful service, on this node if it has one. Pure. */
export function pickSwarmBackupTasks(services: readonly StackServiceForBackup[], tasks: readonly SwarmTaskInfo[], localNode: string): BackupTaskChoice {
  const choice: BackupTaskChoice = {local: new Map(), remote: [], notRunning: []}
  for (const service of [...services].sort((a, b) => (a.service < b.service ? -1 : 1))) {
    if (strategyFor(service.image, service.volumes) === null) continue
    const running = tasks.filter((t) => t.ServiceID === service.id && t.DesiredState === 'running' && t.Status.State === 'running' && t.Status.ContainerStatus?.ContainerID)
    const here = running.find((t) => t.NodeID === localNode)
    if (here) choice.local.set(service.service, here.Status.ContainerStatus?.ContainerID as string)
    else if (running[0]) choice.remote.push({service: service.service, node: running[0].NodeID ?? '?'})
    else choice.notRunning.push(service.service)
  }
  return choice
}

/** The stack's datastore containers as backup targets (named like their compose services); fails when one runs on another node. */
export async function discoverSwarmTargets(engine: Pick<EnginePort, 'system' | 'swarm' | 'containers'>, stack: string): Promise<Map<string, Target>> {
  const info = await engine.system.info()
  const localNode = info.Swarm?.NodeID ?? ''
  const services = await observeStack(engine, stack)
  const described: StackServiceForBackup[] = [...services].map(([service, s]) => {
    const container = (s.Spec.TaskTemplate as ContainerTaskSpec | undefined)?.ContainerSpec
    return {service, id: s.ID, image: container?.Image ?? '', volumes: (container?.Mounts ?? []).filter((m) => m.Type === 'volume').length}
  })
  const ids = described.filter((s) => strategyFor(s.image, s.volumes) !== null).map((s) => s.id)
  const tasks = ids.length === 0 ? [] : ((await engine.swarm.listTasks({filters: {service: ids, 'desired-state': ['running']}})) as SwarmTaskInfo[])
  const choice = pickSwarmBackupTasks(described, tasks, localNode)
  if (choice.remote.length > 0) {
    const nodes = (await engine.swarm.listNodes()) as Array<{ID: string; Description?: {Hostname?: string}}>
    const hostname = (id: string): string => nodes.find((n) => n.ID === id)?.Description?.Hostname ?? id
    throw new TtaError(
      `backupFirst: ${choice.remote.map((r) => `${r.service} runs on node ${hostname(r.node)}`).join(', ')}, not on the manager tta talks to; its data cannot be backed up from here`,
      ExitCode.failed,
      'constrain the datastores to the manager (deploy.placement.constraints: [node.role == manager]), or back them up on their node and deploy with backupFirst: false',
    )
  }
  const targets = new Map<string, Target>()
  for (const [service, id] of choice.local) {
    const target = await inspectTarget(engine, stack, id)
    targets.set(service, {...target, service})
  }
  return targets
}
