import type {EnginePort} from '../docker/port.js'
import type {Healthcheck, Service} from '../compose/model.js'
import {addressOf, factsFromService, healthcheckProbe, type Reach} from '../probes/derive.js'
import {reachFor} from '../probes/reach.js'
import type {ProbeSpec} from '../probes/types.js'
import {waitChecked} from './checked-wait.js'
import type {ContainerEvents} from './container-events.js'
import {durationToMs} from './durations.js'
import {AbortedError, CrashWatch, NotReadyError, sleep} from './not-ready.js'

export {AbortedError, CRASH_LOOP_RESTARTS, crashLoopReason, NotReadyError} from './not-ready.js'
export {healthcheckCommand} from './container-io.js'
export {AWAIT_ENGINE_CHECK_MS, ENGINE_CHECKS_OFTEN_MS, EXEC_BACKOFF, nextEngineCheck, nextGap, PROBE_BACKOFF} from './checked-wait.js'

export type ReadyBy = 'healthcheck' | 'port' | 'running' | 'completed'

/**
 * How a service's readiness is decided. A healthcheck: its own command must pass once (by the
 * engine's check or tta's exec), with `probe` the host-side equivalent that gates the exec when the
 * check is recognisable and its port reachable. Else the first published TCP port answering, at
 * the address reach.ts gives. Else running.
 */
export type Readiness =
  | {kind: 'healthcheck'; test: string[]; timeoutMs: number; probe?: ProbeSpec; engineEveryMs?: number}
  | {kind: 'port'; probe: ProbeSpec; port: number}
  | {kind: 'running'; note?: string}

/** Host-side probes answer within this, or count as not ready yet. */
const PROBE_TIMEOUT_MS = 1_000

/** Reaching ports on a local engine: the default for callers that do not say. */
const LOCAL_REACH: Reach = reachFor('unix:///var/run/docker.sock', {})

export interface ReadinessContext {
  /** Where probes reach the services' ports (probes/reach.ts); a local engine when unset. */
  reach?: Reach
  imageAliases?: string[]
  /** Whether the engine runs `start_interval` checks (API >= 1.44): its own checks then come every start_interval while starting. */
  startInterval?: boolean
}

/**
 * How often the engine itself runs the healthcheck while the service starts: start_interval where
 * the engine supports it and a start period is running, else the interval (Docker's default 30 s).
 */
export function engineCheckEveryMs(hc: {interval?: string; start_period?: string; start_interval?: string} | undefined, startInterval: boolean): number {
  if (startInterval && hc?.start_interval && hc.start_period) return durationToMs(hc.start_interval, 5_000)
  return durationToMs(hc?.interval, 30_000)
}

export function readinessFor(service: Service, imageHealthcheck?: {Test?: string[]; Timeout?: number; Interval?: number; StartInterval?: number; StartPeriod?: number}, contextOrReach: ReadinessContext | Reach = {}): Readiness {
  const ctx: ReadinessContext = 'via' in contextOrReach ? {reach: contextOrReach} : contextOrReach
  const reach = ctx.reach ?? LOCAL_REACH
  const hc: Healthcheck | undefined = service.healthcheck
  const facts = factsFromService(service, ctx.imageAliases ?? [])
  const check = (test: string[], timeoutMs: number, engineEveryMs: number): Readiness => {
    const probe = healthcheckProbe({...facts, healthcheck: {test, timeoutMs}}, reach, PROBE_TIMEOUT_MS)
    return {kind: 'healthcheck', test, timeoutMs, engineEveryMs, ...(probe ? {probe} : {})}
  }
  if (!hc?.disable && hc?.test && hc.test[0] !== 'NONE') return check(hc.test, durationToMs(hc.timeout, 30_000), engineCheckEveryMs(hc, ctx.startInterval ?? false))
  if (!hc?.disable && !hc?.test && imageHealthcheck?.Test && imageHealthcheck.Test[0] !== 'NONE') {
    const ns = (v: number | undefined): string | undefined => (v ? `${v / 1e6}ms` : undefined)
    const every = engineCheckEveryMs({interval: hc?.interval ?? ns(imageHealthcheck.Interval), start_period: hc?.start_period ?? ns(imageHealthcheck.StartPeriod), start_interval: hc?.start_interval ?? ns(imageHealthcheck.StartInterval)}, ctx.startInterval ?? false)
    return check(imageHealthcheck.Test, hc?.timeout ? durationToMs(hc.timeout, 30_000) : imageHealthcheck.Timeout ? imageHealthcheck.Timeout / 1e6 : 30_000, every)
  }
  const port = (service.ports ?? []).find((p) => p.published && p.protocol === 'tcp')
  if (port?.published) {
    const address = addressOf(facts, port.target, reach)
    if (!address) return {kind: 'running', note: `port ${port.published} is bound to ${port.host_ip ?? '?'} on a remote engine: no route from here, readiness is the container running`}
    return {kind: 'port', port: Number(port.published), probe: {type: 'tcp', host: address.host, port: address.port, timeoutMs: 500, direct: address.direct}}
  }
  return {kind: 'running'}
}

export interface WaitOptions {
  deadline: number
  signal?: AbortSignal
  /** Poll interval: short, because being ready early is the point. */
  intervalMs?: number
  onProbe?: (detail: string) => void
  /** The project's engine events, followed by the caller: healthy verdicts and exits arrive at once. */
  events?: ContainerEvents
  /**
   * Whether anything waits on this service's verdict now (engine/verdicts.ts). When nothing does,
   * a service that answers its host probe is confirmed by the engine's own next check.
   */
  verdict?: {neededNow: () => boolean; answers: () => void; onChange: (listener: () => void) => () => void}
  /**
   * The container's restart count before this wait: 0 when the caller just started it (a start
   * resets the count); unset = the count first seen here (a kept container's old restarts are history).
   */
  restartsBefore?: number
  /**
   * When (local clock) the caller's start of the container returned (its restart count is then
   * fresh: pass restartsBefore 0 with it). A service ready by "running" without a restart policy
   * is then looked at once, when its settle time is over, instead of right away and again after
   * settling.
   */
  startedAt?: number
}

/** A service ready by "running" must stay up this long: one that exits at once is not ready. */
export const RUNNING_SETTLE_MS = 500

/** Whether the engine restarts the service's container when it exits (a crash then shows only as restarts). */
function hasRestartPolicy(service: Service): boolean {
  return (service.restart ?? 'no') !== 'no'
}

/** A timer may fire a millisecond or two before Date.now() says its time is up: not a reason for another look. */
const TIMER_SLACK_MS = 5

/**
 * Waits until the service is ready (see Readiness). A service ready by "running" must stay up
 * RUNNING_SETTLE_MS (or survive its restart policy); the others are checked by waitChecked.
 * Fails fast when the container exits or crash-loops.
 */
export async function waitReady(engine: Pick<EnginePort, 'containers' | 'exec'>, containerId: string, service: Service, readiness: Readiness, options: WaitOptions): Promise<ReadyBy> {
  if (readiness.kind !== 'running') return waitChecked(engine, containerId, service, readiness, options)
  const interval = options.intervalMs ?? 50
  const crashes = new CrashWatch(service.name, options.restartsBefore)
  // When (local clock) this run of the container was first seen running: keyed by its StartedAt.
  let runningSince: {startedAt: string; at: number} | undefined
  // With a restart policy a crash shows only as restarts: look every interval while settling. Without
  // one, a crash leaves it exited: one look when the settle time is over is enough.
  const lookOnceAfterSettling = !hasRestartPolicy(service)
  // Kept from an earlier run (not started by this one), without a restart policy: running now means
  // it did not exit at start; a warm `tta dev` does not wait for it to settle again.
  const keptAndSettled = options.restartsBefore === undefined && lookOnceAfterSettling
  // Just started by the caller, nothing to restart it: one look once it has been up RUNNING_SETTLE_MS.
  const settleFromStart = lookOnceAfterSettling ? options.startedAt : undefined
  if (settleFromStart !== undefined) await sleep(Math.max(0, Math.min(settleFromStart + RUNNING_SETTLE_MS - Date.now(), options.deadline - Date.now())), options.signal)
  for (;;) {
    if (options.signal?.aborted) throw new AbortedError()
    const info = await engine.containers.inspect(containerId)
    const state = info.State
    const restarts = crashes.check(info)
    const restartCount = info.RestartCount ?? 0
    if (state.Status !== 'running') runningSince = undefined
    if (state.Status === 'running') {
      // A new run (another StartedAt, a restart counted, or not running when last seen) settles anew.
      const run = `${state.StartedAt}|${restartCount}`
      // The run the caller started (no restart since): up since the start returned.
      if (runningSince?.startedAt !== run) runningSince = {startedAt: run, at: settleFromStart !== undefined && restarts === 0 ? settleFromStart : Date.now()}
      // Up long enough by the engine's clock (a kept container), or seen up for the settle time.
      const upByEngineClock = Date.now() - Date.parse(state.StartedAt)
      if (keptAndSettled || upByEngineClock >= 10 * RUNNING_SETTLE_MS || Date.now() - runningSince.at >= RUNNING_SETTLE_MS - TIMER_SLACK_MS) return 'running'
    }
    if (Date.now() >= options.deadline) {
      throw new NotReadyError(service.name, 'not ready before the timeout: did not start', state.Status, state.ExitCode)
    }
    // Settling: one more look when the settle time is over, not one every interval (a hundred
    // services settling at once would otherwise cost the engine a thousand inspects).
    const settleLeft = lookOnceAfterSettling && runningSince && state.Status === 'running' ? RUNNING_SETTLE_MS - (Date.now() - runningSince.at) : 0
    await sleep(Math.max(interval, Math.min(settleLeft, options.deadline - Date.now())), options.signal)
  }
}

/**
 * A kept container that is ready by what the container list already says (warm `tta dev`: no
 * inspect per service): running without a restart policy for a service ready by "running", or
 * healthy by the engine's own healthcheck (the list's status ends "(healthy)"). Undefined when
 * it takes a look.
 */
export function readyFromListing(service: Service, readiness: Readiness, listed: {state: string; status: string}): ReadyBy | undefined {
  if (listed.state !== 'running') return undefined
  if (readiness.kind === 'running' && !hasRestartPolicy(service)) return 'running'
  if (readiness.kind === 'healthcheck' && /\(healthy\)$/.test(listed.status)) return 'healthcheck'
  return undefined
}

/** For `service_completed_successfully`: waits for the container to exit, and for exit code 0. */
export async function waitCompleted(engine: Pick<EnginePort, 'containers'>, containerId: string, service: Service, options: WaitOptions): Promise<void> {
  for (;;) {
    const state = (await engine.containers.inspect(containerId)).State
    if (state.Status === 'exited' || state.Status === 'dead') {
      if (state.ExitCode === 0) return
      throw new NotReadyError(service.name, `exited with code ${state.ExitCode}`, state.Status, state.ExitCode)
    }
    if (Date.now() >= options.deadline) throw new NotReadyError(service.name, 'did not complete before the timeout', state.Status)
    await sleep(options.intervalMs ?? 50, options.signal)
  }
}
