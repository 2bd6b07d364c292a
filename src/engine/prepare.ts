import {dirname} from 'node:path'

import type {LoadedProject} from '../compose/model.js'
import type {EngineConnection} from '../docker/client.js'
import {bundledComposeDir} from '../paths.js'
import {detectHostContext, translateBindSources, type HostContext} from '../workspace/devcontainer.js'
import {loadWorkspaceProject, type ProjectRequest} from '../workspace/project.js'
import {applyImageMap} from './images.js'

/**
 * The project as `up` needs it: loaded, images mapped (tta.config.yaml `images:`), bind sources
 * translated for where the engine runs. Loading overlaps the engine connection still under way;
 * a bad compose file is thrown before the connection is awaited.
 */
export async function prepareUpProject(connecting: Promise<EngineConnection>, request: ProjectRequest): Promise<{conn: EngineConnection; loaded: LoadedProject; host: HostContext}> {
  const {workspace} = request
  const loaded = loadWorkspaceProject(request)
  loaded.project = applyImageMap(loaded.project, workspace.config.images)
  const conn = await connecting
  const host = await detectHostContext(conn.engine, workspace.root)
  loaded.project = translateBindSources(loaded.project, host, [workspace.root, bundledComposeDir, ...loaded.configFiles.map((file) => dirname(file))])
  return {conn, loaded, host}
}
