/** Failures and interrupts of a readiness wait, shared by every kind of wait. */

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

/** Restarts (by the container's restart policy) during one wait that make it a crash loop, not a slow start. */
export const CRASH_LOOP_RESTARTS = 3
/** The failure for a container that keeps exiting and being restarted by its restart policy. */
export function crashLoopReason(restarts: number, exitCode: number | undefined): string {
  return `crash-looping: exits${exitCode === undefined ? '' : ` with code ${exitCode}`} and was restarted ${restarts} times by its restart policy`
}

export const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
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
 * Follows one container through its inspects during a wait: an exit fails the wait at once; with
 * a restart policy a crash shows only as restarts ("restarting", or briefly "running" again), and
 * CRASH_LOOP_RESTARTS of them make a crash loop.
 */
export class CrashWatch {
  private lastExitCode: number | undefined

  /** `restartsBefore`: 0 when the caller just started it; unset = the count first seen (a kept container's old restarts are history). */
  constructor(
    private readonly service: string,
    private restartsBefore?: number,
  ) {}

  /** Throws NotReadyError for an exited or crash-looping container; else the restarts seen during this wait. */
  check(info: {RestartCount?: number; State: {Status: string; ExitCode: number}}): number {
    const state = info.State
    if (state.Status === 'exited' || state.Status === 'dead') throw new NotReadyError(this.service, `exited with code ${state.ExitCode}`, state.Status, state.ExitCode)
    const restartCount = info.RestartCount ?? 0
    this.restartsBefore ??= state.Status === 'restarting' ? Math.max(0, restartCount - 1) : restartCount
    const restarts = restartCount - this.restartsBefore
    if (restarts >= CRASH_LOOP_RESTARTS) {
      // A container running again reports exit code 0: the code it last exited with is the one seen before.
      const exitCode = state.Status === 'running' ? this.lastExitCode : state.ExitCode
      throw new NotReadyError(this.service, crashLoopReason(restarts, exitCode), state.Status, exitCode)
    }
    if (state.Status !== 'running') this.lastExitCode = state.ExitCode
    return restarts
  }
}
