import type Dockerode from 'dockerode'

import type {Healthcheck, Service} from '../compose/model.js'
import {execIn, tcpAnswers} from './container-io.js'
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

/** The probe we will run: the compose healthcheck, else the image's own, else the first published port, else none. */
export type Readiness =
  | {kind: 'healthcheck'; test: string[]; timeoutMs: number}
  | {kind: 'port'; host: string; port: number; target: number}
  | {kind: 'running'}

export function readinessFor(service: Service, imageHealthcheck?: {Test?: string[]; Timeout?: number}): Readiness {
  const hc: Healthcheck | undefined = service.healthcheck
  if (!hc?.disable && hc?.test && hc.test[0] !== 'NONE') {
    return {kind: 'healthcheck', test: hc.test, timeoutMs: durationToMs(hc.timeout, 30_000)}
  }
  if (!hc?.disable && !hc?.test && imageHealthcheck?.Test && imageHealthcheck.Test[0] !== 'NONE') {
    return {kind: 'healthcheck', test: imageHealthcheck.Test, timeoutMs: hc?.timeout ? durationToMs(hc.timeout, 30_000) : imageHealthcheck.Timeout ? imageHealthcheck.Timeout / 1e6 : 30_000}
  }
  const port = (service.ports ?? []).find((p) => p.published && p.protocol === 'tcp')
  if (port?.published) {
    const host = !port.host_ip || port.host_ip === '0.0.0.0' ? '127.0.0.1' : port.host_ip === '::' ? '::1' : port.host_ip
    return {kind: 'port', host, port: Number(port.published), target: port.target}
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
  /** Probe ports at the container's own address (tta runs in a container on the project network). */
  viaContainerAddress?: boolean
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
 * Polls until the service is ready. Runs the healthcheck command itself every `intervalMs`
 * instead of waiting out Docker's interval, and accepts Docker's own "healthy" too. Fails fast
 * when the container exits.
 */
export async function waitReady(container: Dockerode.Container, service: Service, readiness: Readiness, options: WaitOptions): Promise<ReadyBy> {
  const interval = options.intervalMs ?? 50
  let lastOutput = ''
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
  const settleFromStart = readiness.kind === 'running' && lookOnceAfterSettling ? options.startedAt : undefined
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
      if (readiness.kind === 'running') {
        // A new run (another StartedAt, a restart counted, or not running when last seen) settles anew.
        const run = `${state.StartedAt}|${restartCount}`
        // The run the caller started (no restart since): up since the start returned.
        if (runningSince?.startedAt !== run) runningSince = {startedAt: run, at: settleFromStart !== undefined && restarts === 0 ? settleFromStart : Date.now()}
        // Up long enough by the engine's clock (a kept container), or seen up for the settle time.
        const upByEngineClock = Date.now() - Date.parse(state.StartedAt)
        if (keptAndSettled || upByEngineClock >= 10 * RUNNING_SETTLE_MS || Date.now() - runningSince.at >= RUNNING_SETTLE_MS) return 'running'
      }
      if (state.Health?.Status === 'healthy') return 'healthcheck'
      if (readiness.kind === 'healthcheck') {
        const left = options.deadline - Date.now()
        const result = await execIn(container, healthcheckCommand(readiness.test), Math.max(200, Math.min(readiness.timeoutMs, left))).catch((error: unknown) => {
          // 409: it stopped or began restarting since the inspect above; the next inspect says which.
          if ((error as {statusCode?: number}).statusCode === 409) return {exitCode: null, output: 'container not running', timedOut: false}
          throw error
        })
        if (result.exitCode === 0) return 'healthcheck'
        lastOutput = result.timedOut ? 'healthcheck timed out' : result.output.trim().split('\n').slice(-1)[0] ?? ''
        options.onProbe?.(`healthcheck exit ${result.exitCode ?? '?'}`)
      } else if (readiness.kind === 'port') {
        const address = options.viaContainerAddress ? Object.values(info.NetworkSettings.Networks ?? {}).find((n) => n.IPAddress)?.IPAddress : undefined
        if (address ? await tcpAnswers(address, readiness.target, 500, 0) : await tcpAnswers(readiness.host, readiness.port)) return 'port'
      }
    }
    if (Date.now() >= options.deadline) {
      const why = readiness.kind === 'healthcheck' ? `healthcheck did not pass${lastOutput ? ` (last output: ${lastOutput})` : ''}` : readiness.kind === 'port' ? `port ${readiness.host}:${readiness.port} did not answer` : 'did not start'
      throw new NotReadyError(service.name, `not ready before the timeout: ${why}`, state.Status, state.ExitCode)
    }
    // Settling: one more look when the settle time is over, not one every interval (a hundred
    // services settling at once would otherwise cost the engine a thousand inspects).
    const settleLeft = lookOnceAfterSettling && readiness.kind === 'running' && runningSince && state.Status === 'running' ? RUNNING_SETTLE_MS - (Date.now() - runningSince.at) : 0
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
