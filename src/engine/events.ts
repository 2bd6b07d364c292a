import type {UpPlan} from './plan.js'
import type {ReadyBy} from './readiness.js'

/** What the engine reports while it works; the UI renders these, the engine never prints. */
export type EngineEvent =
  | {type: 'plan'; plan: UpPlan}
  | {type: 'image'; service: string; image: string; phase: 'pull' | 'build'; status: 'start' | 'done' | 'failed'; elapsedMs?: number; error?: string}
  | {type: 'pull-progress'; service: string; image: string; current: number; total: number}
  | {type: 'build-output'; service: string; line: string}
  | {type: 'resource'; kind: 'network' | 'volume'; name: string; action: 'create' | 'exists' | 'external'}
  | {type: 'service'; service: string; phase: ServicePhase; detail?: string; elapsedMs: number; readyBy?: ReadyBy}
  | {type: 'note'; message: string}

export type ServicePhase = 'waiting' | 'creating' | 'recreating' | 'starting' | 'started' | 'kept' | 'checking' | 'ready' | 'failed' | 'skipped'

export type Emit = (event: EngineEvent) => void
