import chalk from 'chalk'

import type {EngineEvent, ServicePhase} from '../engine/events.js'
import {formatPlan} from '../engine/plan.js'
import {bytes, seconds} from './format.js'

export interface UpProgress {
  emit(event: EngineEvent): void
  /** Waits for the renderer to draw its last frame. */
  finish(): Promise<void>
}

const PHASE_COLOR: Partial<Record<ServicePhase, (s: string) => string>> = {
  ready: chalk.green,
  failed: chalk.red,
  skipped: chalk.yellow,
  kept: chalk.dim,
}

function phaseText(event: Extract<EngineEvent, {type: 'service'}>): string {
  switch (event.phase) {
    case 'ready':
      return `ready in ${seconds(event.elapsedMs)}${event.readyBy ? ` (${event.readyBy})` : ''}`
    case 'waiting':
      return `waiting for ${event.detail}`
    case 'kept':
      return 'unchanged'
    case 'recreating':
      return `recreating (${event.detail})`
    default:
      return event.detail ? `${event.phase}: ${event.detail}` : event.phase
  }
}

/** One line per step, for pipes, CI logs and NO_COLOR terminals. */
export function plainUpProgress(options: {verbose: boolean; write?: (line: string) => void}): UpProgress {
  const write = options.write ?? ((line: string) => process.stderr.write(line + '\n'))
  const lastProgress = new Map<string, number>()
  let width = 12
  return {
    emit(event) {
      switch (event.type) {
        case 'plan':
          width = Math.max(width, ...Object.keys(event.plan.services).map((s) => s.length))
          if (options.verbose) write(formatPlan(event.plan))
          break
        case 'image':
          // A failure is reported once, by the command's final error.
          if (event.status === 'failed') break
          write(
            `${event.service.padEnd(width)}  ${event.phase} ${event.image}: ${event.status === 'done' ? `done in ${seconds(event.elapsedMs ?? 0)}` : 'started'}`,
          )
          break
        case 'pull-progress': {
          const last = lastProgress.get(event.image) ?? 0
          if (Date.now() - last < 2000) break
          lastProgress.set(event.image, Date.now())
          write(`${event.service.padEnd(width)}  pull ${event.image}: ${bytes(event.current)} / ${bytes(event.total)}`)
          break
        }
        case 'build-output':
          if (options.verbose) write(chalk.dim(`${event.service.padEnd(width)}  | ${event.line}`))
          break
        case 'resource':
          if (options.verbose || event.action === 'create') write(`${event.kind} ${event.name}: ${event.action === 'create' ? 'created' : event.action}`)
          break
        case 'service': {
          if (event.phase === 'checking' && !options.verbose) break
          const color = PHASE_COLOR[event.phase] ?? ((s: string) => s)
          write(`${chalk.dim(`[${seconds(event.elapsedMs).padStart(6)}]`)} ${event.service.padEnd(width)}  ${color(phaseText(event))}`)
          break
        }
        case 'note':
          if (options.verbose) write(chalk.dim(`note: ${event.message}`))
          break
      }
    },
    finish: async () => undefined,
  }
}

/** A live task list (listr2) on a terminal: one row per service, redrawn in place. */
export async function ttyUpProgress(options: {verbose: boolean}): Promise<UpProgress> {
  const {Listr} = await import('listr2')
  const plain = plainUpProgress({verbose: options.verbose})
  const rows = new Map<string, {setTitle: (title: string) => void; settle: (failed?: string) => void}>()
  let listrRun: Promise<unknown> = Promise.resolve()
  let width = 12
  const pending = new Map<string, Array<Extract<EngineEvent, {type: 'service'}>>>()

  const apply = (event: Extract<EngineEvent, {type: 'service'}>): void => {
    const row = rows.get(event.service)
    if (!row) {
      pending.set(event.service, [...(pending.get(event.service) ?? []), event])
      return
    }
    row.setTitle(`${event.service.padEnd(width)}  ${phaseText(event)}`)
    if (event.phase === 'ready' || event.phase === 'kept') {
      if (event.phase === 'ready') row.settle()
    } else if (event.phase === 'failed' || event.phase === 'skipped') {
      row.settle(`${event.service.padEnd(width)}  ${phaseText(event)}`)
    }
  }

  return {
    emit(event) {
      if (event.type === 'plan') {
        width = Math.max(width, ...Object.keys(event.plan.services).map((s) => s.length))
        if (options.verbose) process.stderr.write(formatPlan(event.plan) + '\n')
        const order = event.plan.levels.flat()
        const list = new Listr(
          order.map((service) => ({
            title: `${service.padEnd(width)}  pending`,
            task: (_ctx: unknown, task: {title: string}) =>
              new Promise<void>((resolve, reject) => {
                rows.set(service, {
                  setTitle: (title) => {
                    task.title = title
                  },
                  settle: (failed) => (failed ? reject(new Error(failed)) : resolve()),
                })
                for (const queued of pending.get(service) ?? []) apply(queued)
              }),
          })),
          {concurrent: true, exitOnError: false, rendererOptions: {collapseErrors: false}},
        )
        listrRun = list.run().catch(() => undefined)
        return
      }
      if (event.type === 'service') apply(event)
      else plain.emit(event)
    },
    async finish() {
      // Rows still open here never finished (interrupt): a settled row ignores this.
      for (const [service, row] of rows) row.settle(`${service.padEnd(width)}  interrupted`)
      await listrRun
    },
  }
}
