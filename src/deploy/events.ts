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

/** Runs one step of a deployment between its start and done/failed events. */
export function stepper(emit: DeployEmit) {
  return async <T>(step: DeployStep, work: () => Promise<T>, done?: (value: T) => string | undefined): Promise<T> => {
    const t0 = Date.now()
    emit({type: 'step', step, status: 'start'})
    try {
      const value = await work()
      emit({type: 'step', step, status: 'done', detail: done?.(value), elapsedMs: Date.now() - t0})
      return value
    } catch (error) {
      emit({type: 'step', step, status: 'failed', detail: (error as Error).message.split('\n')[0], elapsedMs: Date.now() - t0})
      throw error
    }
  }
}
