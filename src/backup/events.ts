import type {StrategyName} from './manifest.js'

/** What backup, restore and verify report while they work; the commands render these, the services never print. */
export type BackupEvent =
  | {type: 'service'; service: string; phase: 'start' | 'done' | 'failed' | 'skipped'; strategy?: StrategyName; detail?: string; bytes?: number; elapsedMs?: number; verb?: string}
  | {type: 'progress'; service: string; file: string; bytes: number; elapsedMs: number}
  | {type: 'note'; service?: string; message: string}

export type BackupEmit = (event: BackupEvent) => void
