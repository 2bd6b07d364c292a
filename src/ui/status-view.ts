import chalk from 'chalk'

import type {ServiceStatus, StatusReport, Verdict} from '../status/model.js'
import {bytes, table} from './format.js'

/** 45s, 12m, 3h05m, 2d04h: enough to tell "just restarted" from "up for days". */
export function uptime(seconds: number | null): string {
  if (seconds === null) return '-'
  if (seconds < 60) return `${seconds}s`
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h${String(Math.floor((seconds % 3600) / 60)).padStart(2, '0')}m`
  return `${Math.floor(seconds / 86_400)}d${String(Math.floor((seconds % 86_400) / 3600)).padStart(2, '0')}h`
}

export function latency(ms: number): string {
  return ms < 10 ? `${ms.toFixed(1)}ms` : ms < 1000 ? `${Math.round(ms)}ms` : `${(ms / 1000).toFixed(1)}s`
}

const PAINT: Record<Verdict, (s: string) => string> = {
  healthy: (s) => chalk.green(s),
  starting: (s) => chalk.yellow(s),
  unhealthy: (s) => chalk.red(s),
  down: (s) => chalk.red(s),
  stopped: (s) => chalk.dim(s),
  missing: (s) => chalk.dim(s),
}

function state(s: ServiceStatus): string {
  if (s.state === null) return 'no container'
  const base = s.state === 'running' ? 'running' : s.exitCode !== null && s.state === 'exited' ? `exited (${s.exitCode})` : s.state
  return s.health ? `${base}, ${s.health}` : base
}

function probe(s: ServiceStatus): string {
  if (!s.probe) return s.state === 'running' ? chalk.dim('state only') : '-'
  const p = s.probe
  if (!p.ok) return chalk.red(`${p.type} failed`)
  // The column says what answered in a word or two; --json has the whole detail.
  const short = p.type === 'http' ? (p.detail ?? '').replace(/^HTTP /, '') : p.type === 'postgres' ? 'ready' : p.type === 'neo4j' ? (p.detail ?? '').replace(/^neo4j /, '').replace(', bolt ', ' bolt ') : (p.detail ?? 'ok')
  return `${p.type} ${chalk.dim(short)}`
}

function row(s: ServiceStatus): string[] {
  return [
    s.service + (s.container && s.container.number > 1 ? `-${s.container.number}` : ''),
    PAINT[s.status](s.status),
    state(s),
    uptime(s.uptimeSeconds),
    s.restarts === null ? '-' : String(s.restarts),
    probe(s),
    s.probe ? latency(s.probe.latencyMs) : '-',
    s.cpuPercent === null ? '-' : `${s.cpuPercent.toFixed(1)}%`,
    s.memoryBytes === null ? '-' : bytes(s.memoryBytes),
    s.urls.join('  '),
  ]
}

const HEADER = ['SERVICE', 'STATUS', 'STATE', 'UPTIME', 'RESTARTS', 'PROBE', 'LATENCY', 'CPU', 'MEM', 'URL']

/** The status tables, core then monitoring, with a title line per group and the problems below. */
export function renderStatus(report: StatusReport, options: {title?: string} = {}): string {
  const groups = (['core', 'monitoring'] as const).map((g) => ({name: g, services: report.services.filter((s) => s.group === g)})).filter((g) => g.services.length > 0)
  // One table for every row so both groups share column widths; group titles go in between.
  const lines = table(HEADER, groups.flatMap((g) => g.services.map(row))).split('\n')
  const out: string[] = []
  if (options.title) out.push(options.title, '')
  out.push(chalk.dim(lines[0] ?? ''))
  let at = 1
  for (const group of groups) {
    const healthy = group.services.filter((s) => s.status === 'healthy').length
    const tally = `${healthy}/${group.services.length} healthy`
    out.push(chalk.bold(`${group.name.toUpperCase()} `) + (healthy === group.services.length ? chalk.green(tally) : chalk.yellow(tally)))
    out.push(...lines.slice(at, at + group.services.length))
    at += group.services.length
  }
  const problems = report.services.filter((s) => s.status !== 'healthy')
  out.push('')
  if (problems.length === 0) {
    out.push(chalk.green(`✔ all ${report.counts.total} services healthy`) + chalk.dim(` (project ${report.project}, ${latency(report.durationMs)})`))
  } else {
    for (const s of problems) out.push(`${PAINT[s.status]('✖')} ${s.service}: ${PAINT[s.status](s.status)}${s.reason ? ` - ${s.reason}` : ''}${s.probe && !s.probe.ok ? chalk.dim(` [${s.probe.target}]`) : ''}`)
    out.push(chalk.dim(`${report.counts.healthy}/${report.counts.total} healthy (project ${report.project}, ${latency(report.durationMs)})`))
    if (!report.services.some((s) => s.state === 'running')) out.push('nothing running, start with `tta dev` (or `tta monitoring`, `tta full`)')
  }
  return out.join('\n')
}

export function renderNothing(project: string): string {
  return `nothing running in project ${project}, start with \`tta dev\` (or \`tta monitoring\`, \`tta full\`)`
}

/** One `tta status` answer as printed: the JSON document, or the tables (or "nothing running"). */
export function renderStatusOnce(report: StatusReport, options: {json: boolean}): string {
  if (options.json) return JSON.stringify(report, null, 2) + '\n'
  return (report.counts.total === 0 ? renderNothing(report.project) : renderStatus(report)) + '\n'
}

/**
 * In-place redraw for `--watch` on a terminal: the alternate screen, cursor home, each line
 * cleared to its end, the rest of the screen cleared once at the end: one write per frame, so
 * nothing flickers.
 */
export const screen = {
  enter: '\u001B[?1049h\u001B[?25l',
  leave: '\u001B[?25h\u001B[?1049l',
  frame(text: string, rows = process.stdout.rows ?? 0): string {
    let lines = text.split('\n')
    if (rows > 0 && lines.length > rows) lines = [...lines.slice(0, rows - 1), chalk.dim(`… ${lines.length - rows + 1} more lines (enlarge the terminal)`)]
    return `\u001B[H${lines.map((l) => `${l}\u001B[K`).join('\n')}\u001B[J`
  },
}
