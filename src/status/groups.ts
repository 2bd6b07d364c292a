import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {parse} from 'yaml'

import {bundledComposeDir} from '../paths.js'

/**
 * Service names declared in compose files, read without interpolating or validating anything:
 * only the keys under `services:`. A file that does not parse contributes nothing, so a broken
 * overlay never stops `tta status`.
 */
export function declaredServices(files: string[]): Set<string> {
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

/** The services grouped as "monitoring": those of the bundled monitoring file. Everything else is core. */
export function monitoringServices(): Set<string> {
  return declaredServices([MONITORING_FILE])
}

/** Every service a workspace can start: the bundled core and monitoring files plus its composeFiles. */
export function knownServices(composeFiles: string[]): Set<string> {
  return declaredServices([join(bundledComposeDir, 'docker-compose.yml'), MONITORING_FILE, ...composeFiles])
}
