import {ExitCode, TtaError} from '../errors.js'

/** What Compose accepts as a project name; tta uses the same rule everywhere a name is given. */
const PROJECT_NAME = /^[a-z0-9][a-z0-9_-]*$/

/** What Compose accepts as a service name (its schema's pattern, starting with a letter or digit). */
const SERVICE_NAME = /^[a-zA-Z0-9][a-zA-Z0-9._-]*$/

export function isValidProjectName(name: string): boolean {
  return PROJECT_NAME.test(name)
}

export function isValidServiceName(name: string): boolean {
  return SERVICE_NAME.test(name)
}

/** Refuses (exit 2) service arguments that cannot name a service, before anything asks the engine. */
export function refuseInvalidServiceNames(names: readonly string[]): void {
  const bad = names.filter((name) => !isValidServiceName(name))
  if (bad.length === 0) return
  throw new TtaError(
    `invalid service name${bad.length > 1 ? 's' : ''}: ${bad.map((name) => JSON.stringify(name)).join(', ')}`,
    ExitCode.badInput,
    'service names are letters, digits, ".", "_" and "-", starting with a letter or digit',
  )
}
