import type {Project} from '../compose/model.js'

/**
 * Which services' readiness verdicts are needed right now, so a service that already answers its
 * host probe but that nothing waits on yet lets the engine's own healthcheck (which runs anyway)
 * give the verdict, instead of tta running the same check inside it a second time. A verdict is
 * needed when some consumer waits on nothing else: a dependent (condition service_healthy) all of
 * whose other such dependencies answer, or the end of the run once every other target answers.
 * "Answers" counts a host probe that passed as well as a confirmed ready: services that answer
 * together are then confirmed together, never one after the other.
 */
export class VerdictNeeds {
  private readonly answering = new Set<string>()
  private readonly listeners = new Set<() => void>()
  /** service → the services that wait for it to be healthy (before they start). */
  private readonly consumers = new Map<string, string[]>()
  private readonly started = new Set<string>()

  constructor(
    private readonly project: Project,
    private readonly targets: readonly string[],
  ) {
    for (const name of targets) {
      for (const [dep, condition] of Object.entries(project.services[name]?.depends_on ?? {})) {
        if (condition.condition !== 'service_healthy' || !targets.includes(dep)) continue
        this.consumers.set(dep, [...(this.consumers.get(dep) ?? []), name])
      }
    }
  }

  /** The service's host probe passed, or it is ready: it answers. */
  answers(service: string): void {
    if (this.answering.has(service)) return
    this.answering.add(service)
    this.changed()
  }

  /** A dependent was started: it no longer waits on anything. */
  startedService(service: string): void {
    this.started.add(service)
    this.changed()
  }

  neededNow(service: string): boolean {
    const othersAnswer = (names: Iterable<string>): boolean => [...names].every((n) => n === service || this.answering.has(n))
    if (othersAnswer(this.targets)) return true
    for (const consumer of this.consumers.get(service) ?? []) {
      if (this.started.has(consumer)) continue
      const awaited = Object.entries(this.project.services[consumer]?.depends_on ?? {})
        .filter(([dep, c]) => c.condition === 'service_healthy' && this.targets.includes(dep))
        .map(([dep]) => dep)
      if (othersAnswer(awaited)) return true
    }
    return false
  }

  /** Calls `listener` whenever who answers changes; returns the unsubscribe. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  private changed(): void {
    for (const listener of [...this.listeners]) listener()
  }
}
