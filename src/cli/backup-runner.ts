import {backup, type BackupRequest, type BackupResult} from '../backup/backup.js'
import {InterruptedError} from '../backup/streams.js'
import {ExitCode, TtaError} from '../errors.js'
import {listenForInterrupt} from './interrupt.js'
import {backupProgress, type BackupProgress} from '../ui/backup-progress.js'

/** Runs `fn` with an AbortSignal that Ctrl-C / SIGTERM trip, mapping the interrupt to exit 130. */
export async function interruptible<T>(fn: (signal: AbortSignal) => Promise<T>, interruptedMessage: string): Promise<T> {
  const interrupt = listenForInterrupt()
  try {
    return await fn(interrupt.signal)
  } catch (error) {
    if (error instanceof InterruptedError || interrupt.signal.aborted) throw new TtaError(interruptedMessage, ExitCode.interrupted)
    throw error
  } finally {
    interrupt.dispose()
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
