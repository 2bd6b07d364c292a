/**
 * Rendering of the resident `tta dev --watch` session. On a terminal: one live line per service at
 * the top (a fixed region), merged logs scrolling below it, keys read raw from stdin. Elsewhere:
 * plain lines, no keys. Only renders and reads keys; the session service does the work.
 */
import chalk from 'chalk'

import type {LogLine} from '../logs/decode.js'
import type {LogSource} from '../logs/read.js'
import type {ServiceStatus, WatchEvent} from '../watch/session.js'
import {LogPrinter} from './logs-view.js'

export type KeyCommand =
  | {type: 'restart'; service: string}
  | {type: 'rebuild'; service: string}
  | {type: 'filter'; service?: string}
  | {type: 'pause'}
  | {type: 'status'}
  | {type: 'open'; url: string}
  | {type: 'quit'}

export interface SessionViewOptions {
  tty: boolean
  /** Services shown, in order. */
  services: string[]
  /** URLs per service, for `o`. */
  urls: Record<string, string[]>
  statuses: () => ServiceStatus[]
  paused: () => boolean
  onCommand: (command: KeyCommand) => void
  out?: NodeJS.WriteStream
  input?: NodeJS.ReadStream
}

const KEYS_HELP = 'r restart · b rebuild · l filter logs · p pause · s status · o open · q quit'

/** The one-line summary of a service: state, health, last action and how long it took. */
export function statusLine(status: ServiceStatus, width: number, now = Date.now()): string {
  const state = status.health ? `${status.state} (${status.health})` : status.state
  const paint = status.state !== 'running' ? chalk.red : status.health === 'unhealthy' ? chalk.red : status.health === 'health: starting' ? chalk.yellow : chalk.green
  let last = ''
  if (status.busy) last = chalk.yellow(`${status.busy}…`)
  else if (status.last) {
    const ago = Math.max(0, Math.round((now - status.last.at) / 1000))
    const what = `${status.last.action} ${status.last.ok ? 'ok' : 'FAILED'} in ${duration(status.last.elapsedMs)}${status.last.detail && status.last.ok ? ` (${status.last.detail})` : ''}, ${ago}s ago`
    last = status.last.ok ? chalk.dim(what) : chalk.red(what)
  }
  return `${status.service.padEnd(width)}  ${paint(state.padEnd(26))} ${last}`
}

export class SessionView {
  private readonly out: NodeJS.WriteStream
  private readonly printer: LogPrinter
  private filter: string | undefined
  private choosing: {kind: 'restart' | 'rebuild' | 'filter' | 'open'; items: string[]} | undefined
  private redrawTimer: NodeJS.Timeout | undefined
  private headerRows = 0
  private readonly width: number
  private readonly onResize = (): void => this.layout()
  private readonly onKey = (data: Buffer): void => this.key(data.toString('utf8'))

  constructor(private readonly options: SessionViewOptions) {
    this.out = options.out ?? process.stdout
    this.printer = new LogPrinter({timestamps: false, json: false, live: true}, this.out)
    this.width = Math.max(...options.services.map((s) => s.length), 7)
  }

  start(): void {
    if (!this.options.tty) return
    this.layout()
    this.out.on('resize', this.onResize)
    const input = this.options.input ?? process.stdin
    if (input.isTTY) input.setRawMode(true)
    input.resume()
    input.on('data', this.onKey)
    this.redrawTimer = setInterval(() => this.drawHeader(), 1000)
    this.redrawTimer.unref()
  }

  /** Puts the terminal back as it was; the cursor ends below the logs. */
  close(): void {
    clearInterval(this.redrawTimer)
    if (!this.options.tty) return
    const input = this.options.input ?? process.stdin
    input.off('data', this.onKey)
    if (input.isTTY) input.setRawMode(false)
    input.pause()
    this.out.off('resize', this.onResize)
    this.out.write(`\x1b[r\x1b[${this.out.rows || 24};1H\n`)
  }

  registerSource(source: LogSource): void {
    this.printer.register(source)
  }

  logLine(line: LogLine, source: LogSource): void {
    if (this.filter && source.service !== this.filter) return
    this.printer.line(line, source)
  }

  /** A line of tta's own, among the logs. */
  note(text: string): void {
    void this.printer.flush()
    this.out.write(`${chalk.bold('tta')} ${text}\n`)
  }

  event(event: WatchEvent): void {
    const line = describe(event)
    if (line !== undefined) this.note(line)
    if (event.type === 'crashed') {
      for (const log of event.logs) this.out.write(chalk.dim(`  │ ${log}\n`))
    }
    if (this.options.tty) this.drawHeader()
  }

  /** `s`: the full status, printed among the logs. */
  printStatus(): void {
    const lines = this.options.statuses().map((s) => `  ${statusLine(s, this.width)}${s.containerId ? chalk.dim(`  ${s.containerId.slice(0, 12)}`) : ''}`)
    const urls = Object.entries(this.options.urls).filter(([, list]) => list.length > 0).map(([name, list]) => `  ${name.padEnd(this.width)}  ${list.join('  ')}`)
    this.note(`status${this.options.paused() ? ' (watching paused)' : ''}:\n${lines.join('\n')}${urls.length > 0 ? `\n${urls.join('\n')}` : ''}`)
  }

  private layout(): void {
    const rows = this.out.rows || 24
    this.headerRows = this.options.services.length + 2
    // The logs scroll in the region below the header; the header is redrawn in place.
    this.out.write(`\x1b[2J\x1b[${this.headerRows + 1};${rows}r\x1b[${rows};1H`)
    this.drawHeader()
  }

  private drawHeader(): void {
    if (!this.options.tty) return
    const cols = this.out.columns || 100
    const clip = (s: string): string => (visibleLength(s) > cols ? s.slice(0, cols + (s.length - visibleLength(s))) : s)
    const statuses = new Map(this.options.statuses().map((s) => [s.service, s]))
    const rows: string[] = [chalk.bold(`tta dev --watch${this.options.paused() ? chalk.yellow('  [watching paused]') : ''}${this.filter ? chalk.cyan(`  [logs: ${this.filter}]`) : ''}`)]
    for (const name of this.options.services) {
      const status = statuses.get(name) ?? {service: name, state: 'unknown'}
      rows.push(statusLine(status, this.width))
    }
    rows.push(chalk.dim(this.choosing ? this.choice() : KEYS_HELP))
    let frame = '\x1b7'
    rows.forEach((row, i) => {
      frame += `\x1b[${i + 1};1H\x1b[2K${clip(row)}`
    })
    this.out.write(`${frame}\x1b8`)
  }

  private choice(): string {
    const choosing = this.choosing as {kind: string; items: string[]}
    const verb = {restart: 'restart', rebuild: 'rebuild', filter: 'show logs of', open: 'open'}[choosing.kind]
    const items = choosing.items.map((item, i) => `${i + 1} ${item}`).join('  ')
    return `${verb}: ${choosing.kind === 'filter' ? '0 all  ' : ''}${items}  (Esc cancels)`
  }

  private key(text: string): void {
    for (const ch of text) {
      if (ch === '\u0003') {
        this.options.onCommand({type: 'quit'})
        return
      }
      if (this.choosing) {
        this.choose(ch)
        continue
      }
      switch (ch) {
        case 'q':
          this.options.onCommand({type: 'quit'})
          return
        case 'r':
          this.choosing = {kind: 'restart', items: this.options.services}
          break
        case 'b':
          this.choosing = {kind: 'rebuild', items: this.options.services}
          break
        case 'l':
          this.choosing = {kind: 'filter', items: this.options.services}
          break
        case 'o': {
          const urls = Object.values(this.options.urls).flat()
          if (urls.length === 0) this.note('no service publishes a URL')
          else this.choosing = {kind: 'open', items: urls}
          break
        }
        case 'p':
          this.options.onCommand({type: 'pause'})
          break
        case 's':
          this.options.onCommand({type: 'status'})
          break
        default:
          break
      }
      this.drawHeader()
    }
  }

  private choose(ch: string): void {
    const choosing = this.choosing as {kind: 'restart' | 'rebuild' | 'filter' | 'open'; items: string[]}
    if (ch === '\u001b') {
      this.choosing = undefined
      this.drawHeader()
      return
    }
    const index = Number.parseInt(ch, 10)
    if (Number.isNaN(index)) return
    this.choosing = undefined
    if (choosing.kind === 'filter') {
      this.filter = index === 0 ? undefined : choosing.items[index - 1]
      this.note(this.filter ? `showing logs of ${this.filter} only (l 0 shows all)` : 'showing logs of every service')
    } else {
      const item = choosing.items[index - 1]
      if (item !== undefined) {
        if (choosing.kind === 'open') this.options.onCommand({type: 'open', url: item})
        else this.options.onCommand({type: choosing.kind, service: item})
      }
    }
    this.drawHeader()
  }

  flush(): Promise<void> {
    return this.printer.flush()
  }
}

// eslint-disable-next-line no-control-regex -- ANSI colour sequences are exactly what is stripped here
const visibleLength = (s: string): number => s.replace(/\x1b\[[0-9;]*m/g, '').length

/** The plain line for an event (both modes write these among the logs). */
export function describe(event: WatchEvent): string | undefined {
  switch (event.type) {
    case 'watching':
      return `watching ${event.services.join(', ') || 'nothing (no service has develop.watch rules)'}${event.roots.length > 0 ? ` (${event.roots.length} director${event.roots.length === 1 ? 'y' : 'ies'})` : ''}`
    case 'action':
      if (event.status === 'start') return event.action === 'rebuild' ? `${event.service}: rebuilding` : undefined
      if (event.status === 'done') return `${event.service}: ${event.action} done in ${duration(event.elapsedMs)}${event.detail ? ` (${event.detail})` : ''}`
      return chalk.red(`${event.service}: ${event.action} failed after ${duration(event.elapsedMs)}: ${event.error}`)
    case 'retry':
      return chalk.yellow(`${event.service}: ${event.action} attempt ${event.attempt} failed (${event.error}); retrying`)
    case 'crashed':
      return chalk.red(`${event.service}: crashed${event.exitCode === undefined ? '' : ` (exit code ${event.exitCode})`}; still watching, the next change restarts it. Last log lines:`)
    case 'state':
      return undefined
    case 'paused':
      return event.paused ? 'watching paused (p resumes)' : 'watching resumed'
    case 'warning':
      return chalk.yellow(`warning: ${event.message}`)
    case 'build-output':
      return undefined
  }
}

/** Sub-second work is what watch mode is about: milliseconds below a second. */
export function duration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)}s`
}
