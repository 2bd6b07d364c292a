import {backup} from '../backup/backup.js'
import {backupSettings} from '../backup/settings.js'
import {BackupStore} from '../backup/store.js'
import type {LoadedProject} from '../compose/model.js'
import type {EngineConnection} from '../docker/client.js'
import {observeContainers} from '../engine/observe.js'
import {bytes} from '../ui/format.js'
import type {DeployTarget} from '../workspace/deploy-config.js'
import type {Workspace} from '../workspace/workspace.js'
import type {DeployEmit} from './events.js'
import {discoverSwarmTargets} from './swarm-backup.js'
import {observeStack} from './swarm.js'

export interface BackupBeforeDeploy {
  workspace: Workspace
  conn: EngineConnection
  loaded: LoadedProject
  target: DeployTarget
  version: string
  ttaVersion: string
  readyTimeoutMs: number
  signal?: AbortSignal
  emit: DeployEmit
}

/**
 * `backupFirst: true`: backs up the target's datastores (the backup module's strategies, over
 * the target's engine, into the workspace's backup directory) before anything changes there.
 * Resolves with a one-line summary; a failed backup throws and stops the deployment.
 */
export async function backupBeforeDeploy(request: BackupBeforeDeploy): Promise<string> {
  const project = request.loaded.project.name
  const {engine} = request.conn
  const swarm = request.target.type === 'swarm'
  const deployed = swarm ? (await observeStack(engine, project)).size : (await observeContainers(engine, project)).length
  if (deployed === 0) return 'nothing deployed yet: nothing to back up'
  // A swarm's datastores are its tasks' containers (on this node); see swarm-backup.ts.
  const discover = swarm ? () => discoverSwarmTargets(engine, project) : undefined
  if (discover && (await discover()).size === 0) return 'no datastore task runs: nothing to back up'
  const store = new BackupStore(backupSettings(request.workspace, {}).dir, {workspaceRoot: request.workspace.root})
  const result = await backup({
    conn: request.conn,
    project,
    store,
    reason: `before deploying ${request.version} to ${request.target.name}`,
    ttaVersion: request.ttaVersion,
    readyTimeoutMs: request.readyTimeoutMs,
    signal: request.signal,
    discover,
    emit: (event) => {
      if (event.type === 'service') request.emit({type: 'service', service: event.service, phase: `backup ${event.phase}`, detail: event.detail ?? event.strategy})
      else if (event.type === 'note') request.emit({type: 'note', message: `${event.service ? `${event.service}: ` : ''}${event.message}`})
    },
  })
  const total = Object.values(result.manifest.services).reduce((sum, entry) => sum + entry.bytes, 0)
  const services = Object.keys(result.manifest.services).join(', ')
  if (!result.manifest.complete) {
    throw new Error(`backup ${result.manifest.id} is partial (${result.manifest.failed.map((f) => `${f.service}: ${f.error}`).join('; ')}); nothing was deployed`)
  }
  return `backup ${result.manifest.id} (${services}, ${bytes(total)}) in ${result.dir}`
}
