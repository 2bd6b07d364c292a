import chalk from 'chalk'

import type {BackupEvent} from '../backup/events.js'
import {bytes, seconds, table} from './format.js'

export interface BackupProgress {
  emit(event: BackupEvent): void
  /** Clears the live line and prints the grouped "skipped" summary. */
  finish(): void
}

/** Bytes per second as text, from a byte count and the milliseconds it took. */
export function rate(count: number, elapsedMs: number): string {
  return elapsedMs <= 0 ? '' : `${bytes((count * 1000) / elapsedMs)}/s`
}

/**
 * Progress of backup / restore / verify on stderr: on a terminal one live line (file, bytes,
 * rate) redrawn in place, else one plain line per step and a progress line every 5 s.
 */
export function backupProgress(options: {verb: string; tty?: boolean; write?: (text: string) => void}): BackupProgress {
  const tty = options.tty ?? (Boolean(process.stderr.isTTY) && !process.env.CI)
  const write = options.write ?? ((text: string) => process.stderr.write(text))
  const skipped = new Map<string, string[]>()
  let live = false
  let lastPlain = 0
  const clear = (): void => {
    if (live) write('\r\u001B[K')
    live = false
  }
  const line = (text: string): void => {
    clear()
    write(text + '\n')
  }
  return {
    emit(event) {
      switch (event.type) {
        case 'service':
          if (event.phase === 'skipped') {
            const reason = event.detail ?? 'skipped'
            skipped.set(reason, [...(skipped.get(reason) ?? []), event.service])
          } else if (event.phase === 'start') {
            line(`${chalk.cyan('›')} ${event.service}: ${event.verb ?? options.verb}${event.strategy ? ` (${event.strategy})` : ''}${event.detail ? `, ${event.detail}` : ''}`)
          } else if (event.phase === 'done') {
            const size = event.bytes !== undefined ? ` ${bytes(event.bytes)}` : ''
            const speed = event.bytes !== undefined && event.elapsedMs ? `, ${rate(event.bytes, event.elapsedMs)}` : ''
            line(`${chalk.green('✔')} ${event.service}:${size} in ${seconds(event.elapsedMs ?? 0)}${speed}${event.detail ? ` — ${event.detail}` : ''}`)
          } else {
            line(`${chalk.red('✖')} ${event.service}: ${event.detail ?? 'failed'}`)
          }
          break
        case 'progress': {
          const text = `  ${event.service}  ${event.file}  ${bytes(event.bytes)}  ${rate(event.bytes, event.elapsedMs)}  ${seconds(event.elapsedMs)}`
          if (tty) {
            write(`\r\u001B[K${chalk.dim(text)}`)
            live = true
          } else if (Date.now() - lastPlain >= 5000) {
            lastPlain = Date.now()
            line(text)
          }
          break
        }
        case 'note':
          line(chalk.dim(`  ${event.service ? `${event.service}: ` : ''}${event.message}`))
          break
      }
    },
    finish() {
      clear()
      for (const [reason, services] of skipped) write(chalk.yellow(`- skipped ${services.join(', ')}: ${reason}\n`))
    },
  }
}

/** The per-service result of a restore (tta restore, tta undo). */
export function restoreTable(services: ReadonlyArray<{service: string; ok: boolean; elapsedMs: number; detail: string}>): string {
  const rows = services.map((s) => [s.service, s.ok ? chalk.green('restored') : chalk.red('FAILED'), seconds(s.elapsedMs), s.detail])
  return table(['SERVICE', 'RESULT', 'TIME', 'CHECK'], rows)
}
