import type {LoadedProject, Project, Service} from '../../../src/compose/model.js'
import type {Observed, ObservedContainer} from '../../../src/engine/observe.js'

export function svc(name: string, extra: Partial<Service> = {}): Service {
  return {name, command: null, entrypoint: null, image: `${name}:1`, networks: {default: null}, ...extra}
}

export function projectOf(services: Service[], name = 'p'): Project {
  return {
    name,
    services: Object.fromEntries(services.map((s) => [s.name, s])),
    networks: {default: {name: `${name}_default`}},
    volumes: {data: {name: `${name}_data`}},
  }
}

export function loadedOf(project: Project): LoadedProject {
  return {project, workingDir: '/ws/compose', configFiles: ['/ws/compose/a.yml', '/ws/compose/b.yml'], environment: {}, warnings: []}
}

export function container(service: string, extra: Partial<ObservedContainer> = {}): ObservedContainer {
  return {id: `id-${service}`, name: `p-${service}-1`, service, number: 1, state: 'running', status: 'Up', configHash: `hash-${service}`, imageId: `img-${service}`, image: `${service}:1`, managedByTta: true, labels: {}, ...extra}
}

export function observedOf(containers: ObservedContainer[], networks: string[] = [], volumes: string[] = []): Observed {
  return {
    containers,
    networks: new Map(networks.map((n) => [n, {id: n, labels: {}}])),
    volumes: new Map(volumes.map((v) => [v, {labels: {}}])),
  }
}
