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

