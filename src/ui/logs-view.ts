import chalk from 'chalk'

import type {LogLine} from '../logs/decode.js'
import type {LogSource} from '../logs/read.js'
import type {ServiceSummary} from '../logs/summary.js'
import {table} from './format.js'

/** Distinct, readable on dark and light terminals; red is left for errors. */
const PALETTE = [chalk.cyan, chalk.yellow, chalk.green, chalk.magenta, chalk.blue, chalk.cyanBright, chalk.yellowBright, chalk.greenBright, chalk.magentaBright, chalk.blueBright]

/**
 * Writes log lines: `service | text` with one colour per service and prefixes padded to the
 * longest one (growing when a longer one appears), or one JSON object per line. Output is
 * gathered and written in large chunks, which is what makes 100k lines fast.
 */
export class LogPrinter {
  private readonly prefixes = new Map<string, string>()
  private readonly colours = new Map<string, (s: string) => string>()
  private width = 0
  private buffer: string[] = []
  private size = 0
  private scheduled = false

  constructor(
    /** live: lines arrive one by one (following); each batch is written as soon as the event loop is free. */
    private readonly options: {timestamps: boolean; json: boolean; live?: boolean},
    private readonly out: NodeJS.WritableStream = process.stdout,
  ) {}

  register(source: LogSource): void {
    if (!this.colours.has(source.service)) this.colours.set(source.service, PALETTE[this.colours.size % PALETTE.length] as (s: string) => string)
    if (source.label.length > this.width) {
      this.width = source.label.length
      this.prefixes.clear()
    }
  }

  private readonly jsonParts = new Map<LogSource, string>()

  private jsonPart(source: LogSource): string {
    let part = this.jsonParts.get(source)
    if (part === undefined) {
      part = `,"service":${JSON.stringify(source.service)},"container":${JSON.stringify(source.name)},`
      this.jsonParts.set(source, part)
    }
    return part
  }

  private prefix(source: LogSource): string {
    let prefix = this.prefixes.get(source.label)
    if (prefix === undefined) {
      const paint = this.colours.get(source.service) ?? ((s: string) => s)
      prefix = paint(`${source.label.padEnd(this.width)} |`) + ' '
      this.prefixes.set(source.label, prefix)
    }
    return prefix
  }

  line(line: LogLine, source: LogSource): void {
    const text = this.options.json
      ? // The same as JSON.stringify of {time, service, container, stream, message}, with the parts fixed per source written once.
        `{"time":"${line.ts}"${this.jsonPart(source)}"stream":"${line.stream}","message":${JSON.stringify(line.text)}}`
      : this.prefix(source) + (this.options.timestamps ? `${chalk.dim(line.ts)} ` : '') + line.text
    this.buffer.push(text)
    this.size += text.length
    if (this.size > 1 << 18) this.write()
    else if (this.options.live && !this.scheduled) {
      this.scheduled = true
      setImmediate(() => {
        this.scheduled = false
        this.write()
      })
    }
  }

  /** A dim line of tta's own (not in --json output). */
  note(text: string): void {
    if (this.options.json) return
    this.buffer.push(chalk.dim(`--- ${text}`))
    this.write()
  }

  private write(): void {
    if (this.buffer.length === 0) return
    this.out.write(this.buffer.join('\n') + '\n')
    this.buffer = []
    this.size = 0
  }

  /** Writes what is buffered and resolves once the stream took it (before the process exits). */
  flush(): Promise<void> {
    this.write()
    return new Promise((resolve) => this.out.write('', () => resolve()))
  }
}

export function renderSummary(result: {services: ServiceSummary[]; total: Omit<ServiceSummary, 'service'>}): string {
  const rows = result.services.map((s) => [s.service, String(s.lines), s.errors > 0 ? chalk.red(String(s.errors)) : '0', s.warnings > 0 ? chalk.yellow(String(s.warnings)) : '0', String(s.http4xx), s.http5xx > 0 ? chalk.red(String(s.http5xx)) : '0'])
  const t = result.total
  rows.push([chalk.bold('total'), String(t.lines), String(t.errors), String(t.warnings), String(t.http4xx), String(t.http5xx)])
  const span = t.first && t.last ? chalk.dim(`\nfrom ${t.first} to ${t.last}`) : ''
  return table(['SERVICE', 'LINES', 'ERRORS', 'WARNINGS', 'HTTP 4XX', 'HTTP 5XX'], rows) + span
}
