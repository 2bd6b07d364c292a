import type Dockerode from 'dockerode'

import type {Healthcheck, Service} from '../compose/model.js'
import {addressOf, factsFromService, healthcheckProbe, type Reach} from '../probes/derive.js'
import {reachFor} from '../probes/reach.js'
import {runProbe} from '../probes/run.js'
import type {ProbeSpec} from '../probes/types.js'
import type {ContainerEvents} from './container-events.js'
import {execIn} from './container-io.js'
import {durationToMs} from './durations.js'

export type ReadyBy = 'healthcheck' | 'port' | 'running' | 'completed'

/** Why a service did not get ready; the command renders it with the log tail. */
export class NotReadyError extends Error {
  constructor(
    readonly service: string,
    readonly reason: string,
    readonly state?: string,
    readonly exitCode?: number,
  ) {
    super(`${service}: ${reason}`)
    this.name = 'NotReadyError'
  }
}

export class AbortedError extends Error {
  constructor() {
    super('interrupted')
    this.name = 'AbortedError'
  }
}

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

/** A Docker healthcheck `test` as an exec command: CMD runs as is, CMD-SHELL through /bin/sh. */
export function healthcheckCommand(test: string[]): string[] {
  const [kind, ...rest] = test
  if (kind === 'CMD-SHELL') return ['/bin/sh', '-c', rest.join(' ')]
  if (kind === 'CMD') return rest
  return test
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

/** Restarts (by the container's restart policy) during one wait that make it a crash loop, not a slow start. */
export const CRASH_LOOP_RESTARTS = 3
/** A service ready by "running" must stay up this long: one that exits at once is not ready. */
export const RUNNING_SETTLE_MS = 500

/** Whether the engine restarts the service's container when it exits (a crash then shows only as restarts). */
function hasRestartPolicy(service: Service): boolean {
  return (service.restart ?? 'no') !== 'no'
}

/** The failure for a container that keeps exiting and being restarted by its restart policy. */
export function crashLoopReason(restarts: number, exitCode: number | undefined): string {
  return `crash-looping: exits${exitCode === undefined ? '' : ` with code ${exitCode}`} and was restarted ${restarts} times by its restart policy`
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new AbortedError())
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    const onAbort = (): void => {
      clearTimeout(timer)
      reject(new AbortedError())
    }
    signal?.addEventListener('abort', onAbort, {once: true})
  })

/**
 * Waits until the service is ready (see Readiness). A service ready by "running" must stay up
 * RUNNING_SETTLE_MS (or survive its restart policy); the others are checked by waitChecked.
 * Fails fast when the container exits or crash-loops.
 */
export async function waitReady(container: Dockerode.Container, service: Service, readiness: Readiness, options: WaitOptions): Promise<ReadyBy> {
  if (readiness.kind !== 'running') return waitChecked(container, service, readiness, options)
  const interval = options.intervalMs ?? 50
  let restartsBefore = options.restartsBefore
  // When (local clock) this run of the container was first seen running: keyed by its StartedAt.
  let runningSince: {startedAt: string; at: number} | undefined
  let lastExitCode: number | undefined
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
    const info = await container.inspect()
    const state = info.State
    if (state.Status === 'exited' || state.Status === 'dead') {
      throw new NotReadyError(service.name, `exited with code ${state.ExitCode}`, state.Status, state.ExitCode)
    }
    // A restart policy hides a crash: the container is "restarting" or briefly "running" again.
    const restartCount = info.RestartCount ?? 0
    restartsBefore ??= state.Status === 'restarting' ? Math.max(0, restartCount - 1) : restartCount
    const restarts = restartCount - restartsBefore
    if (restarts >= CRASH_LOOP_RESTARTS) {
      // A container running again reports exit code 0: the code it last exited with is the one seen before.
      const exitCode = state.Status === 'running' ? lastExitCode : state.ExitCode
      throw new NotReadyError(service.name, crashLoopReason(restarts, exitCode), state.Status, exitCode)
    }
    if (state.Status !== 'running') {
      runningSince = undefined
      lastExitCode = state.ExitCode
    }
    if (state.Status === 'running') {
      // A new run (another StartedAt, a restart counted, or not running when last seen) settles anew.
      const run = `${state.StartedAt}|${restartCount}`
      // The run the caller started (no restart since): up since the start returned.
      if (runningSince?.startedAt !== run) runningSince = {startedAt: run, at: settleFromStart !== undefined && restarts === 0 ? settleFromStart : Date.now()}
      // Up long enough by the engine's clock (a kept container), or seen up for the settle time.
      const upByEngineClock = Date.now() - Date.parse(state.StartedAt)
      if (keptAndSettled || upByEngineClock >= 10 * RUNNING_SETTLE_MS || Date.now() - runningSince.at >= RUNNING_SETTLE_MS) return 'running'
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

/** Gaps between host-side probes: quick at first, then easing off, never a storm. */
export const PROBE_BACKOFF = {firstMs: 50, factor: 1.5, maxMs: 250} as const
/** Gaps between healthcheck execs: each runs the service's own check program inside it, at its expense. */
export const EXEC_BACKOFF = {firstMs: 100, factor: 2, maxMs: 1_000} as const
/** The safety-net look at the container when no event says anything (an engine without events, a missed one). */
const INSPECT_EVERY_MS = 1_000

/** A host probe passed and the engine's own check is due within this: await its verdict instead of exec'ing. */
export const AWAIT_ENGINE_CHECK_MS = 300
/** How long after its due time the engine's verdict may take (the check runs, then the event comes). */
const ENGINE_VERDICT_GRACE_MS = 400

/**
 * When (local clock) the engine runs the container's healthcheck next: it checks every `everyMs`
 * from the start while starting. Undefined when unknown (no start time, no schedule).
 */
export function nextEngineCheck(everyMs: number | undefined, startedAt: number | undefined, now = Date.now()): number | undefined {
  if (!everyMs || startedAt === undefined || everyMs <= 0) return undefined
  const k = Math.max(1, Math.ceil((now - startedAt) / everyMs))
  return startedAt + k * everyMs
}

/** The next gap of a back-off: `first`, then each one `factor` times the last, capped. */
export function nextGap(previous: number | undefined, backoff: {firstMs: number; factor: number; maxMs: number}): number {
  return previous === undefined ? backoff.firstMs : Math.min(backoff.maxMs, Math.round(previous * backoff.factor))
}

/**
 * Readiness by healthcheck or port, at no cost to the starting service where possible:
 *  - the engine's own verdict arrives as a health_status event (its start_interval checks count);
 *  - a recognisable healthcheck is probed from the host (HTTP GET, redis PING, pg startup, TCP
 *    connect) with back-off, and the real healthcheck is exec'd once that passes, to confirm:
 *    "ready" still means the service's own check passed;
 *  - an unrecognisable one is exec'd with back-off (100 ms doubling to 1 s);
 *  - exits and restarts come as events, with a look at the container every second as a safety net.
 */
async function waitChecked(container: Dockerode.Container, service: Service, readiness: Exclude<Readiness, {kind: 'running'}>, options: WaitOptions): Promise<ReadyBy> {
  let healthy = false
  let stateChanged = true
  let wake: (() => void) | undefined
  const unsubscribe = options.events?.on(container.id, (event) => {
    if (event.action === 'health_status: healthy') healthy = true
    else if (event.action === 'die' || event.action === 'start' || event.action === 'restart' || event.action === 'oom') stateChanged = true
    else return
    wake?.()
  })
  // Deferred to the engine's own check because nothing needed the verdict: looked at again whenever that may change.
  let deferred = false
  const stopListening = options.verdict?.onChange(() => {
    if (deferred) wake?.()
  })
  try {
    let restartsBefore = options.restartsBefore
    let lastExitCode: number | undefined
    let lastOutput = ''
    let nextInspect = 0
    let probeGap: number | undefined
    let nextProbe = 0
    let execGap: number | undefined
    // With a host probe the exec waits for it; without one it is the check.
    let nextExec = readiness.kind === 'healthcheck' && !readiness.probe ? 0 : Number.POSITIVE_INFINITY
    let running = false
    let lastState = 'created'
    for (;;) {
      if (options.signal?.aborted) throw new AbortedError()
      if (healthy) return 'healthcheck'
      const now = Date.now()
      if (stateChanged || now >= nextInspect) {
        stateChanged = false
        nextInspect = now + INSPECT_EVERY_MS
        const info = await container.inspect()
        const state = info.State
        lastState = state.Status
        if (state.Status === 'exited' || state.Status === 'dead') throw new NotReadyError(service.name, `exited with code ${state.ExitCode}`, state.Status, state.ExitCode)
        const restartCount = info.RestartCount ?? 0
        restartsBefore ??= state.Status === 'restarting' ? Math.max(0, restartCount - 1) : restartCount
        const restarts = restartCount - restartsBefore
        if (restarts >= CRASH_LOOP_RESTARTS) {
          const exitCode = state.Status === 'running' ? lastExitCode : state.ExitCode
          throw new NotReadyError(service.name, crashLoopReason(restarts, exitCode), state.Status, exitCode)
        }
        if (state.Status !== 'running') lastExitCode = state.ExitCode
        running = state.Status === 'running'
        if (running && state.Health?.Status === 'healthy') return 'healthcheck'
      }
      // A verdict put off to the engine's check and now waited on: tta runs the check at once.
      if (deferred && options.verdict?.neededNow()) {
        deferred = false
        nextExec = Math.min(nextExec, Date.now())
      }
      if (running) {
        const probe = readiness.kind === 'port' ? readiness.probe : readiness.probe
        if (probe && Date.now() >= nextProbe) {
          const result = await runProbe(probe)
          options.onProbe?.(result.ok ? `${probe.type} probe answered` : `${probe.type} probe: ${result.error ?? 'no answer'}`)
          if (result.ok) {
            if (readiness.kind === 'port') return 'port'
            // The service answers: its own check should pass now. When the engine runs that same
            // check within moments anyway, its verdict (an event) is awaited instead of running it
            // twice; a little later, if it has not come, tta runs it.
            options.verdict?.answers()
            if (nextExec === Number.POSITIVE_INFINITY) {
              const engineDue = options.events?.following ? nextEngineCheck(readiness.engineEveryMs, options.startedAt) : undefined
              const engineSoon = engineDue !== undefined && engineDue - Date.now() <= AWAIT_ENGINE_CHECK_MS
              deferred = engineDue !== undefined && !engineSoon && options.verdict?.neededNow() === false
              nextExec = engineDue !== undefined && (engineSoon || deferred) ? engineDue + ENGINE_VERDICT_GRACE_MS : Date.now()
            }
          }
          probeGap = nextGap(probeGap, PROBE_BACKOFF)
          nextProbe = Date.now() + probeGap
        }
        if (readiness.kind === 'healthcheck' && Date.now() >= nextExec) {
          const left = options.deadline - Date.now()
          const result = await execIn(container, healthcheckCommand(readiness.test), Math.max(200, Math.min(readiness.timeoutMs, left))).catch((error: unknown) => {
            // 409: it stopped or began restarting since the last look; the next look says which.
            if ((error as {statusCode?: number}).statusCode === 409) {
              stateChanged = true
              return {exitCode: null, output: 'container not running', timedOut: false}
            }
            throw error
          })
          if (result.exitCode === 0) return 'healthcheck'
          lastOutput = result.timedOut ? 'healthcheck timed out' : (result.output.trim().split('\n').slice(-1)[0] ?? '')
          options.onProbe?.(`healthcheck exit ${result.exitCode ?? '?'}`)
          execGap = nextGap(execGap, EXEC_BACKOFF)
          // Gated by the host probe: the next exec only after it answers again.
          nextExec = readiness.probe ? Number.POSITIVE_INFINITY : Date.now() + execGap
          if (readiness.probe) nextProbe = Math.max(nextProbe, Date.now() + execGap)
        }
      }
      if (Date.now() >= options.deadline) {
        const why =
          readiness.kind === 'healthcheck'
            ? `healthcheck did not pass${lastOutput ? ` (last output: ${lastOutput})` : ''}`
            : `port ${readiness.probe.type === 'tcp' ? `${readiness.probe.host}:${readiness.probe.port}` : readiness.port} did not answer`
        throw new NotReadyError(service.name, `not ready before the timeout: ${why}`, lastState)
      }
      const until = Math.min(nextInspect, running ? Math.min(readiness.kind === 'healthcheck' && !readiness.probe ? nextExec : nextProbe, nextExec) : nextInspect, options.deadline)
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(done, Math.max(0, until - Date.now()))
        function done(): void {
          clearTimeout(timer)
          wake = undefined
          options.signal?.removeEventListener('abort', onAbort)
          resolve()
        }
        function onAbort(): void {
          done()
          reject(new AbortedError())
        }
        wake = done
        if (healthy || stateChanged || (deferred && options.verdict?.neededNow())) done()
        options.signal?.addEventListener('abort', onAbort, {once: true})
      })
    }
  } finally {
    unsubscribe?.()
    stopListening?.()
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
export async function waitCompleted(container: Dockerode.Container, service: Service, options: WaitOptions): Promise<void> {
  for (;;) {
    const state = (await container.inspect()).State
    if (state.Status === 'exited' || state.Status === 'dead') {
      if (state.ExitCode === 0) return
      throw new NotReadyError(service.name, `exited with code ${state.ExitCode}`, state.Status, state.ExitCode)
    }
    if (Date.now() >= options.deadline) throw new NotReadyError(service.name, 'did not complete before the timeout', state.Status)
    await sleep(options.intervalMs ?? 50, options.signal)
  }
}
