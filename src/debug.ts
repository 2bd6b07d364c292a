import {createRequire} from 'node:module'

/**
 * Diagnostics for bug reports, in the `debug` package's convention the field knows: `--debug`
 * (which sets DEBUG=tta:*) or DEBUG=tta:engine,tta:exec on stderr. Off by default and then nearly
 * free: the package loads only when DEBUG names something, so `tta status` pays nothing for it.
 */
export type DebugNamespace = 'engine' | 'exec' | 'probe'

type Logger = ((format: string, ...args: unknown[]) => void) & {enabled: boolean}

const loggers = new Map<DebugNamespace, Logger | undefined>()

function loggerFor(namespace: DebugNamespace): Logger | undefined {
  if (loggers.has(namespace)) return loggers.get(namespace)
  let logger: Logger | undefined
  if (process.env.DEBUG) {
    // Synchronous on purpose: callers log from plain callbacks; `debug` is CommonJS.
    const createDebug = createRequire(import.meta.url)('debug') as (namespace: string) => Logger
    const candidate = createDebug(`tta:${namespace}`)
    if (candidate.enabled) logger = candidate
  }
  loggers.set(namespace, logger)
  return logger
}

export function debugEnabled(namespace: DebugNamespace): boolean {
  return loggerFor(namespace) !== undefined
}

/** Logs when `tta:<namespace>` is enabled; `message` is built only then. */
export function debug(namespace: DebugNamespace, message: () => string): void {
  loggerFor(namespace)?.('%s', message())
}

/** execa's own tracing of the commands tta runs (`docker build`, `git describe`, ...), on under tta:exec. */
export function execVerbose(): 'short' | 'none' {
  return debugEnabled('exec') ? 'short' : 'none'
}
