import {join} from 'node:path'

import {loadWorkspaceConfig} from './config.js'
import {findWorkspaceRoot, type Workspace} from './root.js'

export {findWorkspaceRoot, WORKSPACE_CONFIG_FILE, type Workspace} from './root.js'

export function openWorkspace(cwd: string, explicit?: string): Workspace {
  const {root, foundBy} = findWorkspaceRoot(cwd, explicit)
  return {root, foundBy, config: loadWorkspaceConfig(root), envFile: join(root, '.env')}
}
