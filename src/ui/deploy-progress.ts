import chalk from 'chalk'

import {DEPLOY_STEPS, type DeployEvent, type DeployStep} from '../deploy/events.js'
import {bytes, seconds} from './format.js'
import {plainUpProgress} from './up-progress.js'

export interface DeployProgress {
  emit(event: DeployEvent): void
  /** Settles rows that never ran and waits for the last frame. */
  finish(): Promise<void>
}

const TITLES: Record<DeployStep, string> = {
  preflight: 'preflight',
  build: 'build images',
  push: 'push images',
  backup: 'back up datastores',
  rollout: 'roll out',
  verify: 'verify health',
  cleanup: 'clean up',
  rollback: 'roll back',
  record: 'record history',
}

/** A sub-event as one short line (service phases, image steps); undefined for the ones a step row does not show. */
function detailLine(event: DeployEvent, lastPush: Map<string, number>): string | undefined {
  switch (event.type) {
    case 'image':
      return `${event.service}: ${event.phase} ${event.image} ${event.status === 'start' ? 'started' : `done in ${seconds(event.elapsedMs ?? 0)}`}`
    case 'push-progress': {
      const last = lastPush.get(event.image) ?? 0
      if (Date.now() - last < 2000 || event.total === 0) return undefined
      lastPush.set(event.image, Date.now())
      return `push ${event.image}: ${bytes(event.current)} / ${bytes(event.total)}`
    }
    case 'service':
      return `${event.service}: ${event.phase}${event.detail ? ` (${event.detail})` : ''}`
    case 'note':
      return `note: ${event.message}`
    default:
      return undefined
  }
}

/** One line per step and per service change: for pipes, CI logs and --json runs. */
export function plainDeployProgress(options: {verbose: boolean; write?: (line: string) => void}): DeployProgress {
  const write = options.write ?? ((line: string) => process.stderr.write(line + '\n'))
  const engine = plainUpProgress({verbose: options.verbose, write: (line) => write(`  ${line}`)})
  const lastPush = new Map<string, number>()
  return {
    emit(event) {
      switch (event.type) {
        case 'step': {
          const title = TITLES[event.step]
          if (event.status === 'start') write(`▸ ${title}`)
          // A failed preflight is the command's error, printed in full right after.
          else if (event.status === 'failed' && event.step === 'preflight') write(`${chalk.red('✖')} ${title}`)
          else if (event.status === 'done') write(`${chalk.green('✔')} ${title}${event.detail ? `: ${event.detail}` : ''}${event.elapsedMs !== undefined ? chalk.dim(` (${seconds(event.elapsedMs)})`) : ''}`)
          else if (event.status === 'skipped') write(chalk.dim(`- ${title}: skipped${event.detail ? ` (${event.detail})` : ''}`))
          else write(`${chalk.red('✖')} ${title}${event.detail ? `: ${event.detail}` : ''}`)
          break
        }
        case 'plan':
          break
        case 'build-output':
          if (options.verbose) write(chalk.dim(`  ${event.service} | ${event.line}`))
          break
        case 'engine':
          if (event.event.type !== 'plan') engine.emit(event.event)
          break
        default: {
          const line = detailLine(event, lastPush)
          if (line) write(`  ${line}`)
        }
      }
    },
    finish: async () => undefined,
  }
}

/** A listr2 task list on a terminal: one row per step, its title showing the latest detail. */
export async function ttyDeployProgress(options: {steps: readonly DeployStep[]; verbose: boolean}): Promise<DeployProgress> {
  const {Listr} = await import('listr2')
  interface Row {
    settled: boolean
    task?: {title: string; skip: (message?: string) => void; output?: string}
    resolve?: () => void
    reject?: (error: Error) => void
    pending: Array<(row: Row) => void>
  }
  const rows = new Map<DeployStep, Row>(options.steps.map((step) => [step, {settled: false, pending: []}]))
  let current: DeployStep | undefined
  const lastPush = new Map<string, number>()
  const onRow = (step: DeployStep, fn: (row: Row) => void): void => {
    const row = rows.get(step)
    if (!row) return
    if (row.task) fn(row)
    else row.pending.push(fn)
  }
  const settle = (step: DeployStep, how: 'done' | 'skipped' | 'failed', detail?: string): void => {
    const row = rows.get(step)
    if (!row || row.settled) return
    row.settled = true
    onRow(step, (r) => {
      if (!r.task) return
      if (how === 'done') {
        r.task.title = `${TITLES[step]}${detail ? chalk.dim(`  ${detail}`) : ''}`
        r.resolve?.()
      } else if (how === 'skipped') {
        r.task.skip(`${TITLES[step]}${detail ? `: ${detail}` : ''}`)
        r.resolve?.()
      } else {
        r.reject?.(new Error(`${TITLES[step]}${detail ? `: ${detail}` : ''}`))
      }
    })
  }
  const list = new Listr(
    options.steps.map((step) => ({
      title: TITLES[step],
      task: (_ctx: unknown, task: Row['task']) =>
        new Promise<void>((resolve, reject) => {
          const row = rows.get(step) as Row
          row.task = task
          row.resolve = resolve
          row.reject = reject
          for (const fn of row.pending.splice(0)) fn(row)
        }),
    })),
    // Ctrl-C is the command's to handle (stop, record the deployment as interrupted, exit 130);
    // listr2's own handler would exit 127 at once and lose the record.
    {concurrent: false, exitOnError: false, registerSignalListeners: false, rendererOptions: {collapseErrors: false}},
  )
  const running = list.run().catch(() => undefined)
  const plain = plainDeployProgress({verbose: options.verbose})
  return {
    emit(event) {
      if (event.type === 'step') {
        // A later step starting means the earlier ones that never ran were not needed.
        const index = options.steps.indexOf(event.step)
        for (const earlier of options.steps.slice(0, Math.max(0, index))) settle(earlier, 'skipped', 'not needed')
        if (event.status === 'start') current = event.step
        // A failed preflight is the command's error, printed in full right after the list.
        else settle(event.step, event.status, event.status === 'failed' && event.step === 'preflight' ? undefined : event.detail)
        return
      }
      if (event.type === 'build-output') {
        if (options.verbose) plain.emit(event)
        return
      }
      let line: string | undefined
      if (event.type === 'engine') {
        const e = event.event
        if (e.type === 'service') line = `${e.service}: ${e.phase}${e.detail ? ` (${e.detail})` : ''}`
        else if (e.type === 'image') line = `${e.service}: ${e.phase} ${e.image} ${e.status}`
      } else line = detailLine(event, lastPush)
      if (line && current) {
        const step = current
        onRow(step, (r) => {
          if (r.task && !r.settled) r.task.title = `${TITLES[step]}${chalk.dim(`  ${line}`)}`
        })
      }
    },
    async finish() {
      for (const step of options.steps) settle(step, 'skipped', 'not reached')
      await running
    },
  }
}

export {DEPLOY_STEPS}
