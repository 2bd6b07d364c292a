import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {ExitCode, TtaError} from '../errors.js'
import {bundledComposeDir} from '../paths.js'

/**
 * Service names declared in compose files, read without interpolating or validating anything:
 * only the keys under `services:`. A file that does not parse contributes nothing, so a broken
 * overlay never stops `tta status`.
 */
export async function declaredServices(files: string[]): Promise<Set<string>> {
  // Loaded here only: most `tta status` runs never need a full parse, and yaml costs ~40 ms.
  const {parse} = await import('yaml')
  const names = new Set<string>()
  for (const file of files) {
    try {
      if (!existsSync(file)) continue
      const doc = parse(readFileSync(file, 'utf8')) as {services?: Record<string, unknown>} | null
      for (const name of Object.keys(doc?.services ?? {})) names.add(name)
    } catch {
      // A broken file is the loader's to report (tta config, tta dev), not status's.
    }
  }
  return names
}

export const MONITORING_FILE = join(bundledComposeDir, 'docker-compose.monitoring.yml')

/**
 * The keys under a top-level `services:` of a file laid out as the bundled ones are (block
 * style, two-space indents), read line by line: this runs on every `tta status`, and a full
 * YAML parse of the file costs more than the rest of the bookkeeping. Empty when the layout differs.
 */
export function scanServiceKeys(text: string): string[] {
  const keys: string[] = []
  let inServices = false
  for (const line of text.split('\n')) {
    if (/^services:\s*(#.*)?$/.test(line)) inServices = true
    else if (/^\S/.test(line)) inServices = false
    else if (inServices) {
      const key = /^ {2}([A-Za-z0-9._-]+):\s*(#.*)?$/.exec(line)?.[1]
      if (key) keys.push(key)
    }
  }
  return keys
}

/** The services grouped as "monitoring": those of the bundled monitoring file. Everything else is core. */
export function monitoringServices(): Set<string> {
  // The bundled file is ours and laid out for the scan; a test keeps the two in step.
  return new Set(scanServiceKeys(readFileSync(MONITORING_FILE, 'utf8')))
}

/** Every service a workspace can start: the bundled core and monitoring files plus its composeFiles. */
export function knownServices(composeFiles: string[]): Promise<Set<string>> {
  return declaredServices([join(bundledComposeDir, 'docker-compose.yml'), MONITORING_FILE, ...composeFiles])
}

/**
 * Named services that have no container: missing if a compose file of the workspace defines them,
 * a typo otherwise (exit 2, listing the names there are).
 */
export async function refuseUnknownServices(missing: string[], composeFiles: string[]): Promise<void> {
  if (missing.length === 0) return
  const known = await knownServices(composeFiles)
  const unknown = missing.filter((name) => !known.has(name))
  if (unknown.length > 0) {
    throw new TtaError(`unknown service${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}`, ExitCode.badInput, `services: ${[...known].sort().join(', ')}`)
  }
}
