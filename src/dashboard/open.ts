import {backupSettings} from '../backup/settings.js'
import {openEngineApi} from '../docker/api.js'
import {collectOptionsFor} from '../status/one-shot.js'
import type {Workspace} from '../workspace/workspace.js'
import {readSecretValues} from '../workspace/secret-values.js'
import {LiveEnvironment} from './live.js'
import {newToken} from './security.js'
import {startDashboardServer, type RunningDashboard} from './server.js'

export interface DashboardRequest {
  workspace: Workspace
  projectName?: string
  port: number
  bind?: string
  /** Show the generated secrets in the page (and do not mask them in logs). */
  secrets?: boolean
  allowHosts?: string[]
  ttaVersion: string
  /** Probe cadence while a page is open. */
  intervalMs?: number
}

export interface OpenDashboard extends RunningDashboard {
  project: string
  live: LiveEnvironment
}

/** `tta ui` (and `tta dev --ui`): the live environment model and its HTTP server, both started. */
export async function openDashboard(request: DashboardRequest): Promise<OpenDashboard> {
  const {workspace} = request
  const collect = collectOptionsFor({workspace, projectName: request.projectName, services: [], timeoutSeconds: 1, stats: true})
  const api = await openEngineApi()
  const live = new LiveEnvironment({
    api,
    workspace,
    collect,
    backup: backupSettings(workspace, {}, workspace.root),
    ttaVersion: request.ttaVersion,
    showSecrets: Boolean(request.secrets),
    secrets: readSecretValues(workspace.envFile).map((s) => ({name: s.name, value: s.value})),
    intervalMs: request.intervalMs,
  })
  try {
    // The first state is collected before the server answers: the first page load has it at once.
    await live.start()
    const server = await startDashboardServer({live, port: request.port, bind: request.bind ?? '127.0.0.1', token: newToken(), allowHosts: request.allowHosts})
    return {
      ...server,
      project: collect.project,
      live,
      close: async () => {
        live.close()
        await server.close()
        api.close()
      },
    }
  } catch (error) {
    live.close()
    api.close()
    throw error
  }
}
