import {isAbsolute, join, resolve} from 'node:path'
import {existsSync} from 'node:fs'

import {loadProject} from '../compose/load.js'
import type {LoadedProject} from '../compose/model.js'
import {ExitCode, TtaError} from '../errors.js'
import {bundledComposeDir} from '../paths.js'
import type {Workspace} from './workspace.js'
import {projectNameFor} from './project-name.js'

export const MODES = ['dev', 'monitoring', 'full'] as const
export type Mode = (typeof MODES)[number]

export {DEFAULT_PROJECT_NAME, projectNameFor} from './project-name.js'

/** The bundled compose files a mode loads, in merge order. */
export function bundledFilesFor(mode: Mode, options: {hotReload?: boolean; watch?: boolean} = {}): string[] {
  const hotReload = options.hotReload ?? true
  // Watch mode syncs through the engine API instead of bind-mounting sources (docs/watch.md).
  const overlay = options.watch ? 'docker-compose.watch.yml' : 'docker-compose.hotreload.yml'
  const core = ['docker-compose.yml', ...(hotReload || options.watch ? [overlay] : [])]
  const names = mode === 'dev' ? core : mode === 'monitoring' ? ['docker-compose.monitoring.yml'] : [...core, 'docker-compose.monitoring.yml']
  return names.map((name) => join(bundledComposeDir, name))
}

export interface ProjectRequest {
  workspace: Workspace
  cwd: string
  mode?: Mode
  hotReload?: boolean
  /** `tta dev --watch`: the watch overlay replaces the hot-reload one. */
  watch?: boolean
  /** Explicit compose files (`-f`); replace the bundled ones and the config's composeFiles. */
  files?: string[]
  projectName?: string
  profiles?: string[]
  environment?: NodeJS.ProcessEnv
}

/** Loads the compose model the way every command sees it. Throws InputError(s) on bad input. */
export function loadWorkspaceProject(request: ProjectRequest): LoadedProject {
  const {workspace} = request
  let files: string[]
  if (request.files && request.files.length > 0) {
    files = request.files.map((file) => (isAbsolute(file) ? file : resolve(request.cwd, file)))
    for (const file of files) {
      if (!existsSync(file)) throw new TtaError(`compose file not found: ${file}`, ExitCode.badInput)
    }
  } else {
    files = [...bundledFilesFor(request.mode ?? 'dev', {hotReload: request.hotReload, watch: request.watch}), ...workspace.config.composeFiles]
  }
  const environment: Record<string, string | undefined> = {...(request.environment ?? process.env)}
  environment.TTA_WORKSPACE ??= workspace.root
  return loadProject({
    files,
    projectName: projectNameFor(request),
    environment,
    envFiles: existsSync(workspace.envFile) ? [workspace.envFile] : [],
    profiles: request.profiles,
  })
}
