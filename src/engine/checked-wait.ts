import type {EnginePort} from '../docker/port.js'
import type {Service} from '../compose/model.js'
import {runProbe} from '../probes/run.js'
import {execIn, healthcheckCommand} from './container-io.js'
import {AbortedError, CrashWatch, NotReadyError} from './not-ready.js'
import type {Readiness, ReadyBy, WaitOptions} from './readiness.js'

/** Gaps between host-side probes: quick at first, then easing off, never a storm. */
export const PROBE_BACKOFF = {firstMs: 50, factor: 1.5, maxMs: 250} as const
/** With a host probe gating it, the real check still runs after 2 s, then every 4, 8 s: never only the probe's word. */
export const FALLBACK_EXEC = {firstMs: 2_000, factor: 2, maxMs: 8_000} as const
/** Gaps between healthcheck execs: each runs the service's own check program inside it, at its expense. */
export const EXEC_BACKOFF = {firstMs: 100, factor: 2, maxMs: 1_000} as const
/** The safety-net look at the container when no event says anything (an engine without events, a missed one). */
const INSPECT_EVERY_MS = 1_000

/** A host probe passed and the engine's own check is due within this: await its verdict instead of exec'ing. */
export const AWAIT_ENGINE_CHECK_MS = 300
/**
 * An engine that runs the check itself at least this often while the service starts (Docker 25+
 * with start_interval) is always awaited after a host probe passes: at most this much later it has
 * run the same check, and running it twice costs the starting services CPU on a small machine.
 */
export const ENGINE_CHECKS_OFTEN_MS = 1_000
/** How long after its due time the engine's verdict may take (the check runs, then the event comes). */
const ENGINE_VERDICT_GRACE_MS = 400

/**
 * When (local clock) the engine runs the container's healthcheck next: it waits `everyMs` after
 * each check ends, the first `everyMs` after the start. The end of its last check (from inspect)
 * is the better anchor, since each check's run time shifts the schedule; it is used when it is
 * plausible on this clock (a remote engine's clock may differ). Undefined when unknown.
 */
export function nextEngineCheck(everyMs: number | undefined, startedAt: number | undefined, now = Date.now(), lastCheckEnd?: number): number | undefined {
  if (!everyMs || everyMs <= 0) return undefined
  const anchor = lastCheckEnd !== undefined && lastCheckEnd <= now + 50 && now - lastCheckEnd <= 2 * everyMs ? lastCheckEnd : startedAt
  if (anchor === undefined) return undefined
  const k = Math.max(1, Math.ceil((now - anchor) / everyMs))
  return anchor + k * everyMs
}

/** When the oldest exec still running began, ignoring those begun before `since` (an exec_die missed). */
function oldestRunning(running: ReadonlyMap<string, number>, since: number): number | undefined {
  let oldest: number | undefined
  for (const began of running.values()) if (began >= since && (oldest === undefined || began < oldest)) oldest = began
  return oldest
}

/** The next gap of a back-off: `first`, then each one `factor` times the last, capped. */
export function nextGap(previous: number | undefined, backoff: {firstMs: number; factor: number; maxMs: number}): number {
  return previous === undefined ? backoff.firstMs : Math.min(backoff.maxMs, Math.round(previous * backoff.factor))
}

/**
 * Readiness by healthcheck or port, at no cost to the starting service where possible:
 *  - the engine's own verdict arrives as a health_status event (its start_interval checks count);
 *  - a recognisable healthcheck is probed from the host (HTTP GET, redis PING, pg startup, TCP
 *    connect) with back-off; once that passes, the real healthcheck confirms: "ready" still means
 *    the service's own check passed. The engine's next run of it is awaited when it is due soon
 *    (always with start_interval checks of a second or less), else tta execs it;
 *  - an unrecognisable one is exec'd with back-off (100 ms doubling to 1 s);
 *  - exits and restarts come as events, with a look at the container every second as a safety net.
 */
export async function waitChecked(engine: Pick<EnginePort, 'containers' | 'exec'>, containerId: string, service: Service, readiness: Exclude<Readiness, {kind: 'running'}>, options: WaitOptions): Promise<ReadyBy> {
  let healthy = false
  let stateChanged = true
  let wake: (() => void) | undefined
  // Runs of the healthcheck under way in the container (exec_start seen, exec_die not yet), by
  // exec id: when each began. On a busy machine the engine's run can take over a second, and its
  // verdict is then on the way: tta does not run the same check beside it.
  const execsRunning = new Map<string, number>()
  // The engine names the command in exec_start: only runs of this check count, not someone's `docker exec`.
  const checkStarts = readiness.kind === 'healthcheck' ? `exec_start: ${healthcheckCommand(readiness.test).join(' ')}` : undefined
  // tta's own runs of the check: their events say nothing about the engine's schedule.
  const ownExecs = new Set<string>()
  // The engine's last run of the check ended: when, how long it ran, and whether it passed. Fresher
  // than inspect's health log, which tta reads only now and then.
  let engineRunEnded: {at: number; tookMs: number; ok: boolean} | undefined
  // That end is news: not yet acted on while awaiting the engine's verdict.
  let runEndNews = false
  const unsubscribe = options.events?.on(containerId, (event) => {
    if (event.action === 'health_status: healthy') healthy = true
    else if (event.action === 'die' || event.action === 'start' || event.action === 'restart' || event.action === 'oom') stateChanged = true
    else if (event.action === checkStarts && event.execId && !ownExecs.has(event.execId)) {
      execsRunning.set(event.execId, Date.now())
      return
    } else if (event.action === 'exec_die' && event.execId) {
      const began = execsRunning.get(event.execId)
      if (began === undefined) return
      execsRunning.delete(event.execId)
      engineRunEnded = {at: Date.now(), tookMs: Date.now() - began, ok: event.exitCode === 0}
      runEndNews = true
    } else return
    wake?.()
  })
  // Deferred to the engine's own check because nothing needed the verdict: looked at again whenever that may change.
  let deferred = false
  const stopListening = options.verdict?.onChange(() => {
    if (deferred) wake?.()
  })
  try {
    const crashes = new CrashWatch(service.name, options.restartsBefore)
    let lastOutput = ''
    let engineOutput = ''
    let nextInspect = 0
    let probeGap: number | undefined
    let nextProbe = 0
    let execGap: number | undefined
    // With a host probe the exec waits for it; without one it is the check.
    let nextExec = readiness.kind === 'healthcheck' && !readiness.probe ? 0 : Number.POSITIVE_INFINITY
    // Gated by a host probe, the real check still runs now and then: a probe that cannot see what
    // the check sees must not hold readiness back, and a failure names the check's own output.
    // Not when the engine runs the check itself at least as often (start_interval) and its verdicts
    // arrive as events: that is the same check, and running it twice costs the service CPU.
    const engineChecksOften = readiness.kind === 'healthcheck' && Boolean(options.events?.following) && (readiness.engineEveryMs ?? Number.POSITIVE_INFINITY) <= FALLBACK_EXEC.firstMs
    let fallbackGap: number | undefined
    let nextFallback = readiness.kind === 'healthcheck' && readiness.probe && !engineChecksOften ? Date.now() + FALLBACK_EXEC.firstMs : Number.POSITIVE_INFINITY
    let lastProbeError = ''
    let running = false
    let lastState = 'created'
    let lastEngineCheckEnd: number | undefined
    // tta is waiting for the engine's own run of the check instead of running it (nextExec is then a deadline for that verdict).
    let awaitingEngine = false
    // How long the engine's last check ran: its verdict comes that much after the check is due.
    let lastEngineCheckMs = 0
    // How far ahead the engine's next check may be for tta to await it rather than run the check.
    const awaitEngineWithinMs = (readiness.kind === 'healthcheck' && (readiness.engineEveryMs ?? Number.POSITIVE_INFINITY) <= ENGINE_CHECKS_OFTEN_MS) ? ENGINE_CHECKS_OFTEN_MS : AWAIT_ENGINE_CHECK_MS
    for (;;) {
      if (options.signal?.aborted) throw new AbortedError()
      if (healthy) return 'healthcheck'
      const now = Date.now()
      if (stateChanged || now >= nextInspect) {
        stateChanged = false
        nextInspect = now + INSPECT_EVERY_MS
        const info = await engine.containers.inspect(containerId)
        const state = info.State
        lastState = state.Status
        crashes.check(info)
        running = state.Status === 'running'
        if (running && state.Health?.Status === 'healthy') return 'healthcheck'
        // The engine's own last check says why it fails, when tta has not run it itself.
        const engineLast = state.Health?.Log?.at(-1)
        if (engineLast && engineLast.ExitCode !== 0 && engineLast.Output) engineOutput = engineLast.Output.trim().split('\n').slice(-1)[0] ?? ''
        const ended = engineLast?.End ? Date.parse(engineLast.End) : Number.NaN
        if (Number.isFinite(ended)) {
          lastEngineCheckEnd = ended
          const took = ended - Date.parse(engineLast?.Start ?? '')
          if (took >= 0) lastEngineCheckMs = Math.min(took, readiness.kind === 'healthcheck' ? readiness.timeoutMs : took)
        }
      }
      if (engineRunEnded && (lastEngineCheckEnd === undefined || engineRunEnded.at > lastEngineCheckEnd)) {
        lastEngineCheckEnd = engineRunEnded.at
        lastEngineCheckMs = engineRunEnded.tookMs
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
          if (!result.ok) lastProbeError = result.error ?? 'no answer'
          if (result.ok) {
            if (readiness.kind === 'port') return 'port'
            // The service answers: its own check should pass now. When the engine runs that same
            // check within moments anyway, its verdict (an event) is awaited instead of running it
            // twice; a little later, if it has not come, tta runs it.
            options.verdict?.answers()
            if (nextExec === Number.POSITIVE_INFINITY) {
              const engineDue = options.events?.following ? nextEngineCheck(readiness.engineEveryMs, options.startedAt, Date.now(), lastEngineCheckEnd) : undefined
              const engineSoon = engineDue !== undefined && engineDue - Date.now() <= awaitEngineWithinMs
              deferred = engineDue !== undefined && !engineSoon && options.verdict?.neededNow() === false
              awaitingEngine = engineDue !== undefined && (engineSoon || deferred)
              nextExec = awaitingEngine && engineDue !== undefined ? engineDue + lastEngineCheckMs + ENGINE_VERDICT_GRACE_MS : Date.now()
              runEndNews = false
            }
          }
          probeGap = nextGap(probeGap, PROBE_BACKOFF)
          nextProbe = Date.now() + probeGap
        }
        if (awaitingEngine && readiness.kind === 'healthcheck' && runEndNews && engineRunEnded) {
          // The engine's run ended: a pass is followed by its healthy event at once; after a
          // failure (it began before the service answered) its next run is awaited, as Compose would.
          const ended = engineRunEnded
          runEndNews = false
          if (ended.ok) nextExec = Math.max(nextExec, ended.at + ENGINE_VERDICT_GRACE_MS)
          else {
            const next = nextEngineCheck(readiness.engineEveryMs, options.startedAt, ended.at, ended.at)
            nextExec = next !== undefined && next - ended.at <= awaitEngineWithinMs ? next + lastEngineCheckMs + ENGINE_VERDICT_GRACE_MS : Date.now()
          }
        }
        const engineRunStarted = awaitingEngine ? oldestRunning(execsRunning, Date.now() - (readiness.kind === 'healthcheck' ? readiness.timeoutMs : 0)) : undefined
        if (engineRunStarted !== undefined && readiness.kind === 'healthcheck' && Date.now() >= nextExec) {
          // Due, but the engine's run of the check is still going: its verdict, not a second run
          // (unless the deadline comes first: then tta's own run still gets its chance).
          nextExec = Math.max(nextExec, Math.min(engineRunStarted + readiness.timeoutMs + ENGINE_VERDICT_GRACE_MS, options.deadline - readiness.timeoutMs))
        }
        if (readiness.kind === 'healthcheck' && Date.now() >= Math.min(nextExec, nextFallback)) {
          awaitingEngine = false
          if (readiness.probe) {
            fallbackGap = nextGap(fallbackGap, FALLBACK_EXEC)
            nextFallback = Date.now() + fallbackGap
          }
          const left = options.deadline - Date.now()
          const result = await execIn(engine, containerId, healthcheckCommand(readiness.test), Math.max(200, Math.min(readiness.timeoutMs, left)), (id) => ownExecs.add(id)).catch((error: unknown) => {
            // 409: it stopped or began restarting since the last look; 404 "no such exec": it
            // restarted between the exec's create and start. The next look says which.
            const status = (error as {statusCode?: number}).statusCode
            if (status === 409 || (status === 404 && /no such exec/i.test((error as Error).message))) {
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
            ? `healthcheck did not pass${lastOutput || engineOutput ? ` (last output: ${lastOutput || engineOutput})` : lastProbeError ? ` (host probe: ${lastProbeError})` : ''}`
            : `port ${readiness.probe.type === 'tcp' ? `${readiness.probe.host}:${readiness.probe.port}` : readiness.port} did not answer`
        throw new NotReadyError(service.name, `not ready before the timeout: ${why}`, lastState)
      }
      const until = Math.min(nextInspect, running ? Math.min(readiness.kind === 'healthcheck' && !readiness.probe ? nextExec : nextProbe, nextExec, nextFallback) : nextInspect, options.deadline)
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
        if (healthy || stateChanged || (awaitingEngine && runEndNews) || (deferred && options.verdict?.neededNow())) done()
        options.signal?.addEventListener('abort', onAbort, {once: true})
      })
    }
  } finally {
    unsubscribe?.()
    stopListening?.()
  }
}

