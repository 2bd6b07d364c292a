import {backup, type BackupRequest, type BackupResult} from '../backup/backup.js'
import {InterruptedError} from '../backup/streams.js'
import {ExitCode, TtaError} from '../errors.js'
import {backupProgress, type BackupProgress} from '../ui/backup-progress.js'

/** Runs `fn` with an AbortSignal that Ctrl-C / SIGTERM trip, mapping the interrupt to exit 130. */
export async function interruptible<T>(fn: (signal: AbortSignal) => Promise<T>, interruptedMessage: string): Promise<T> {
  const controller = new AbortController()
  const onSignal = (): void => controller.abort()
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  try {
    return await fn(controller.signal)
  } catch (error) {
    if (error instanceof InterruptedError || controller.signal.aborted) throw new TtaError(interruptedMessage, ExitCode.interrupted)
    throw error
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}

/** `tta backup` and the backup `tta clean --volumes` offers: the service, with progress on stderr. */
export async function runBackup(request: Omit<BackupRequest, 'emit' | 'signal'>, progress: BackupProgress = backupProgress({verb: 'backing up'})): Promise<BackupResult> {
  try {
    return await interruptible((signal) => backup({...request, signal, emit: (e) => progress.emit(e)}), 'interrupted: the unfinished backup was removed; nothing else changed')
  } finally {
    progress.finish()
  }
}
