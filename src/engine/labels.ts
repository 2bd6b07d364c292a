import type {Service} from '../compose/model.js'
import {sha256Hex} from '../hash.js'

/** Docker Compose's own label keys: shared so `docker compose -p NAME ps|logs|down` sees what tta made. */
export const Label = {
  project: 'com.docker.compose.project',
  service: 'com.docker.compose.service',
  containerNumber: 'com.docker.compose.container-number',
  oneoff: 'com.docker.compose.oneoff',
  configHash: 'com.docker.compose.config-hash',
  workingDir: 'com.docker.compose.project.working_dir',
  configFiles: 'com.docker.compose.project.config_files',
  version: 'com.docker.compose.version',
  dependsOn: 'com.docker.compose.depends_on',
  image: 'com.docker.compose.image',
  network: 'com.docker.compose.network',
  volume: 'com.docker.compose.volume',
  /** tta's own marker, so tta can tell its containers from Compose's. */
  managedBy: 'dev.tta.managed-by',
} as const

/** The Compose version we claim in labels; Compose only displays it. */
export const COMPOSE_LABEL_VERSION = '2.26.1'

/** Label filter matching exactly one project's resources. */
export function projectFilter(project: string, extra: string[] = []): {label: string[]} {
  return {label: [`${Label.project}=${project}`, ...extra]}
}

/**
 * A stable hash of everything that defines a service's container. Keys are sorted so the hash
 * does not depend on the order files were written in; the API version matters because it
 * decides which healthcheck fields reach the engine.
 */
export function configHash(service: Service, extra: Record<string, unknown> = {}): string {
  return sha256Hex(canonicalJson({service, extra}))
}

export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  )
}

/** Compose's depends_on label: `db:service_healthy:false,cache:service_started:false`. */
export function dependsOnLabel(service: Service): string {
  return Object.entries(service.depends_on ?? {})
    .map(([name, dep]) => `${name}:${dep.condition}:${dep.restart ?? false}`)
    .join(',')
}
