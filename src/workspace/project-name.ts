import {isValidProjectName} from '../compose/project-name.js'
import {ExitCode, TtaError} from '../errors.js'
import type {Workspace} from './root.js'

export const DEFAULT_PROJECT_NAME = 'tta'

/** The compose project name: the flag, else tta.config.yaml, else "tta". A bad flag value is refused (exit 2). */
export function projectNameFor(request: {projectName?: string; workspace: Workspace}): string {
  if (request.projectName !== undefined && !isValidProjectName(request.projectName)) {
    throw new TtaError(`invalid --project-name "${request.projectName}"`, ExitCode.badInput, 'use lowercase letters, digits, "-" and "_", starting with a letter or digit (as Compose does)')
  }
  return request.projectName ?? request.workspace.config.projectName ?? DEFAULT_PROJECT_NAME
}
