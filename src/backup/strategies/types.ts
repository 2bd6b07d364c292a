import type {Readable} from 'node:stream'

import type {EnginePort} from '../../docker/port.js'
import type {BackupFile, KeyspaceCount, ServiceBackup, StrategyName} from '../manifest.js'
import type {FileSink} from '../store.js'
import type {Target} from '../targets.js'

/** What a strategy may use while it backs a service up. */
export interface BackupContext {
  /** Containers and exec for dumps and one-offs; archive to read volumes. */
  engine: Pick<EnginePort, 'containers' | 'exec' | 'archive'>
  project: string
  target: Target
  signal?: AbortSignal
  /** Opens `<backup>/<name>.partial` (0600) for the strategy to stream into. */
  file(name: string): FileSink
  /** A file name not used yet in this backup. */
  fileName(wanted: string): string
  progress(file: string, bytes: number): void
  note(message: string): void
  readyTimeoutMs: number
}

export interface BackupOutcome {
  serverVersion: string | null
  files: BackupFile[]
  user?: string
  keyspace?: Record<string, KeyspaceCount>
  keyspaceExact?: boolean
}

/** What a strategy may use while it restores a service (whose files are already verified). */
export interface RestoreContext {
  engine: Pick<EnginePort, 'containers' | 'exec'>
  project: string
  target: Target
  signal?: AbortSignal
  /** A read stream of one of the backup's files, counting progress. */
  open(file: BackupFile): Readable
  note(message: string): void
  readyTimeoutMs: number
}

export interface Strategy {
  name: StrategyName
  /** Streams the service's data into files. Leaves the service as it found it. */
  backup(ctx: BackupContext): Promise<BackupOutcome>
  /** Replaces the service's data with the backup's; the service is running and ready afterwards. */
  restore(ctx: RestoreContext, entry: ServiceBackup): Promise<void>
  /** Compares the restored data with what the manifest recorded; returns a summary, throws CheckFailed. */
  check(ctx: RestoreContext, entry: ServiceBackup): Promise<string>
  /** Loads the backup into a throwaway container (nothing of the stack is touched); returns a summary. */
  verify(ctx: RestoreContext, entry: ServiceBackup): Promise<string>
}

/** A strategy step failed: message for the user, tool output for the details. */
export class StrategyError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'StrategyError'
  }
}

/** The restored data does not match what the manifest recorded. */
export class CheckFailed extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'CheckFailed'
  }
}
