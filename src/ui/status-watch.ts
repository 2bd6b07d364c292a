import chalk from 'chalk'

import type {EngineApi} from '../docker/api.js'
import {collectStatus, type CollectOptions} from '../status/collect.js'
import type {StatusReport} from '../status/model.js'
import type {StatsSample} from '../status/stats.js'
import {renderNothing, renderStatus, screen} from './status-view.js'

/**
 * `tta status --watch`: one status round a second, redrawn in place on a terminal (plain frames,
 * or one JSON line per round, otherwise) until `signal` aborts.
 */
export async function watchStatus(
  api: EngineApi,
  options: CollectOptions,
  run: {json: boolean; signal: AbortSignal; sleep: (ms: number) => Promise<void>; first?: (report: StatusReport) => Promise<void>},
): Promise<void> {
  const {json} = run
  const tty = Boolean(process.stdout.isTTY) && !json
  let previous: Map<string, StatsSample> | undefined
  if (tty) process.stdout.write(screen.enter)
  try {
    let first = true
    while (!run.signal.aborted) {
      const started = Date.now()
      const {report, samples} = await collectStatus(api, {...options, previous})
      if (first) await run.first?.(report)
      first = false
      previous = samples
      const time = new Date().toLocaleTimeString()
      if (json) process.stdout.write(JSON.stringify(report) + '\n')
      else {
        const body = report.counts.total === 0 ? renderNothing(options.project) : renderStatus(report)
        const title = `tta status · project ${options.project} · ${time} · every 1s, Ctrl-C to quit`
        process.stdout.write(tty ? screen.frame(`${chalk.bold(title)}\n\n${body}`) : `--- ${time}\n${body}\n\n`)
      }
      await run.sleep(Math.max(0, 1000 - (Date.now() - started)))
    }
  } finally {
    if (tty) process.stdout.write(screen.leave)
  }
}
