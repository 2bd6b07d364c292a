import {setMaxListeners} from 'node:events'

import {ExitCode} from '../errors.js'

/** What a command sees of Ctrl-C and SIGTERM while it works. */
export interface Interrupt {
  /** Aborted by the first SIGINT or SIGTERM. */
  readonly signal: AbortSignal
  /** 130 once Ctrl-C was pressed, else 0 (SIGTERM is an orderly stop). */
  exitCode(): number
  /** Resolves after `ms`, or at once when interrupted. */
  sleep(ms: number): Promise<void>
  /** Resolves when interrupted. */
  wait(): Promise<void>
  /** Stops listening; call it in `finally`. */
  dispose(): void
}

/**
 * The one place commands listen for Ctrl-C / SIGTERM: the first aborts `signal`; `onSignal` sees
 * every one with its count (a command that needs a second Ctrl-C to quit at once, say).
 */
export function listenForInterrupt(onSignal?: (count: number, name: 'SIGINT' | 'SIGTERM') => void): Interrupt {
  const controller = new AbortController()
  // Every request of a long follow listens on the signal; none leaks, so no warning is due.
  setMaxListeners(0, controller.signal)
  let code = 0
  let count = 0
  const handler = (name: 'SIGINT' | 'SIGTERM') => (): void => {
    count++
    if (name === 'SIGINT') code = ExitCode.interrupted
    controller.abort()
    onSignal?.(count, name)
  }
  const onInt = handler('SIGINT')
  const onTerm = handler('SIGTERM')
  process.on('SIGINT', onInt)
  process.on('SIGTERM', onTerm)
  const wait = (): Promise<void> => new Promise((resolve) => (controller.signal.aborted ? resolve() : controller.signal.addEventListener('abort', () => resolve(), {once: true})))
  return {
    signal: controller.signal,
    exitCode: () => code,
    sleep: (ms) =>
      new Promise((resolve) => {
        const timer = setTimeout(resolve, ms)
        controller.signal.addEventListener('abort', () => {
          clearTimeout(timer)
          resolve()
        }, {once: true})
      }),
    wait,
    dispose: () => {
      process.off('SIGINT', onInt)
      process.off('SIGTERM', onTerm)
    },
  }
}
