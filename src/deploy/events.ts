import type {EngineEvent} from '../engine/events.js'
import type {DeployPlan} from './plan.js'

/** The steps of a deployment, in order; the command shows one row per step. */
export const DEPLOY_STEPS = ['preflight', 'build', 'push', 'backup', 'rollout', 'verify', 'cleanup', 'rollback', 'record'] as const
export type DeployStep = (typeof DEPLOY_STEPS)[number]

/** What a deployment reports while it works; services never print, the command renders these. */
export type DeployEvent =
  | {type: 'step'; step: DeployStep; status: 'start' | 'done' | 'skipped' | 'failed'; detail?: string; elapsedMs?: number}
  | {type: 'plan'; plan: DeployPlan}
  | {type: 'image'; service: string; image: string; phase: 'build' | 'push'; status: 'start' | 'done'; elapsedMs?: number; detail?: string}
  | {type: 'push-progress'; image: string; current: number; total: number}
  | {type: 'build-output'; service: string; line: string}
  /** A service's rollout on the target: created, updating, converged, rolled back, ... */
  | {type: 'service'; service: string; phase: string; detail?: string}
  /** The compose target's engine events (from the engine's up()). */
  | {type: 'engine'; event: EngineEvent}
  | {type: 'note'; message: string}

export type DeployEmit = (event: DeployEvent) => void
