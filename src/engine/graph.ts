import type {Project} from '../compose/model.js'

/** The named services plus everything they depend on, transitively (all services when none named). */
export function withDependencies(project: Project, names: string[] = []): string[] {
  const roots = names.length > 0 ? names : Object.keys(project.services)
  const seen = new Set<string>()
  const visit = (name: string): void => {
    if (seen.has(name) || !project.services[name]) return
    seen.add(name)
    for (const dep of Object.keys(project.services[name]?.depends_on ?? {})) visit(dep)
  }
  roots.forEach(visit)
  return [...seen].sort()
}

/** Services that depend on `name` (directly or not), among `within`. */
export function dependentsOf(project: Project, name: string, within: Iterable<string> = Object.keys(project.services)): string[] {
  const pool = new Set(within)
  const found = new Set<string>()
  let frontier = [name]
  while (frontier.length > 0) {
    const next: string[] = []
    for (const candidate of pool) {
      if (found.has(candidate)) continue
      const deps = Object.keys(project.services[candidate]?.depends_on ?? {})
      if (deps.some((d) => frontier.includes(d))) {
        found.add(candidate)
        next.push(candidate)
      }
    }
    frontier = next
  }
  return [...found].sort()
}

/**
 * Dependency levels: level 0 depends on nothing in the set, level n only on lower levels.
 * Start walks them forwards, stop backwards. The loader has already rejected cycles.
 */
export function dependencyLevels(project: Project, services: string[]): string[][] {
  const pending = new Set(services)
  const levels: string[][] = []
  const placed = new Set<string>()
  while (pending.size > 0) {
    const level = [...pending]
      .filter((name) => Object.keys(project.services[name]?.depends_on ?? {}).every((dep) => placed.has(dep) || !pending.has(dep)))
      .sort()
    if (level.length === 0) throw new Error(`dependency cycle among: ${[...pending].join(', ')}`)
    for (const name of level) {
      pending.delete(name)
      placed.add(name)
    }
    levels.push(level)
  }
  return levels
}
