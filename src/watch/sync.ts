/**
 * Applying a service's planned changes to its container through the engine API: an archive upload
 * for new and changed files, one exec of `rm -rf -- PATH...` (argv, no shell) for deletions, then a
 * restart or the rule's exec. Works the same whether the engine is local, in a VM or remote.
 */
import type {WatchExec} from '../compose/model.js'
import type {EnginePort} from '../docker/port.js'
import {execCollect} from '../engine/container-io.js'
import type {FileOp} from './rules.js'
import {buildTar} from './tar.js'

export interface SyncResult {
  copied: number
  removed: number
  bytes: number
  attempts: number
}

/** Exec a command (argv) in the container; rejects with its output when it exits non-zero. */
export async function execArgv(engine: Pick<EnginePort, 'exec'>, containerId: string, argv: string[], options: Omit<WatchExec, 'command'> = {}, timeoutMs = 60_000): Promise<string> {
  const result = await execCollect(
    engine,
    containerId,
    {
      Cmd: argv,
      User: options.user,
      Privileged: options.privileged,
      WorkingDir: options.working_dir,
      // A name without a value (unset when the file was loaded) is left out, as Compose does.
      Env: options.environment ? Object.entries(options.environment).flatMap(([k, v]) => (v === null ? [] : [`${k}=${v}`])) : undefined,
    },
    timeoutMs,
  )
  if (result.timedOut) throw new Error(`${argv[0]} did not finish within ${timeoutMs / 1000}s`)
  if (result.exitCode !== 0) throw new Error(`${argv.join(' ')} exited with code ${result.exitCode}: ${(result.stderr || result.stdout).trim().split('\n').slice(-5).join(' / ')}`)
  return result.stdout
}

/** Copies and deletes, retried (a container restarting by uvicorn's reload, a dropped connection). */
export async function syncToContainer(
  engine: Pick<EnginePort, 'exec' | 'archive'>,
  containerId: string,
  ops: {copy: readonly FileOp[]; remove: readonly FileOp[]},
  options: {keep?: (hostPath: string) => boolean; attempts?: number; onRetry?: (error: Error, attempt: number) => void} = {},
): Promise<SyncResult> {
  const attempts = options.attempts ?? 3
  let lastError: Error | undefined
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      const tar = ops.copy.length > 0 ? await buildTar(ops.copy, options.keep) : undefined
      const remove = [...ops.remove, ...(tar?.vanished ?? [])].map((op) => op.containerPath)
      if (tar && tar.archive.length > 1024) await engine.archive.put(containerId, '/', tar.archive)
      // `--` ends options: a file named "-rf" is a file, and the paths go as argv, never a shell string.
      if (remove.length > 0) await execArgv(engine, containerId, ['rm', '-rf', '--', ...remove])
      return {copied: tar?.files ?? 0, removed: remove.length, bytes: tar?.bytes ?? 0, attempts: attempt}
    } catch (error) {
      lastError = error as Error
      if (attempt < attempts) {
        options.onRetry?.(lastError, attempt)
        await new Promise((resolve) => setTimeout(resolve, 200 * 2 ** (attempt - 1)))
      }
    }
  }
  throw lastError ?? new Error('sync failed')
}
