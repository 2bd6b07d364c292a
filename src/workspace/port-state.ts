import {existsSync, readFileSync, renameSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {assignedNames} from './secrets.js'
import {stateDir} from './state-dir.js'

/**
 * `.tta/ports.json`: host ports tta allocated because a default was taken, per project and
 * variable (TTA_REDIS_PORT: 20417). Later runs reuse them, so URLs stay put across restarts.
 */
export const PORTS_FILE = 'ports.json'

interface PortsFile {
  format: 1
  projects: Record<string, {ports: Record<string, number>}>
}

function read(root: string): PortsFile {
  try {
    const parsed = JSON.parse(readFileSync(join(root, '.tta', PORTS_FILE), 'utf8')) as Partial<PortsFile>
    if (parsed.format === 1 && parsed.projects && typeof parsed.projects === 'object') return parsed as PortsFile
  } catch {
    // Missing or unreadable: nothing allocated yet (a damaged file is rewritten on the next allocation).
  }
  return {format: 1, projects: {}}
}

/** The ports recorded for a project, by variable; only valid port numbers. */
export function recordedPorts(root: string, project: string): Record<string, number> {
  const ports = read(root).projects[project]?.ports ?? {}
  return Object.fromEntries(Object.entries(ports).filter(([key, port]) => key.endsWith('_PORT') && Number.isInteger(port) && port > 0 && port < 65536))
}

/** Adds (or replaces) allocations of a project, written atomically. */
export function recordPorts(root: string, project: string, ports: Record<string, number>): void {
  const file = read(root)
  file.projects[project] = {ports: {...file.projects[project]?.ports, ...ports}}
  const path = join(stateDir(root), PORTS_FILE)
  writeFileSync(`${path}.partial`, JSON.stringify(file, null, 2) + '\n', {mode: 0o600})
  renameSync(`${path}.partial`, path)
}

/**
 * Variables the user set (the environment or the workspace `.env`): those are the user's choice,
 * never overridden by a recorded allocation nor reallocated.
 */
export function userSetVariables(envFileText: string, environment: NodeJS.ProcessEnv, file?: string): Set<string> {
  const names = assignedNames(envFileText, file)
  for (const [name, value] of Object.entries(environment)) if (value !== undefined && value !== '') names.add(name)
  return names
}

/**
 * The environment a command loads the compose files with: `environment` plus the ports recorded
 * for the project, for every variable the user did not set. So `tta config` and `tta doctor`
 * show the ports `tta dev` uses.
 */
export function withRecordedPorts(workspace: {root: string; envFile: string}, project: string, environment: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const userSet = userSetVariables(existsSync(workspace.envFile) ? readFileSync(workspace.envFile, 'utf8') : '', environment, workspace.envFile)
  const recorded = Object.entries(recordedPorts(workspace.root, project)).filter(([name]) => !userSet.has(name))
  return {...environment, ...Object.fromEntries(recorded.map(([name, port]) => [name, String(port)]))}
}
