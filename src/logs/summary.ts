/**
 * `tta logs --summary`: per service, how many lines, how many look like errors or warnings, and
 * how many HTTP requests were answered 4xx or 5xx. Heuristics that fit the stack's logs
 * (uvicorn, postgres, redis, Go and JSON loggers); documented in docs/status-logs.md.
 */

export interface ServiceSummary {
  service: string
  lines: number
  errors: number
  warnings: number
  http4xx: number
  http5xx: number
  /** First and last timestamps counted. */
  first: string | null
  last: string | null
}

export type Level = 'error' | 'warning' | undefined

/** `level=error`, `"level":"warn"`, `lvl=crit`, `severity: ERROR` … */
const STRUCTURED = /\b(?:level|lvl|severity)["']?\s*[=:]\s*["']?(emerg|alert|crit|critical|fatal|panic|error|err|eror|warn|warning)\b/i
/** An upper-case level word standing alone: `ERROR:`, `[WARN]`, `| FATAL |`, postgres `ERROR:  …`, `WARNING: …`. */
const LEVEL_WORD = /(?:^|[\s[(|:])(EMERG|ALERT|CRIT|CRITICAL|FATAL|PANIC|SEVERE|ERROR|ERR|WARN|WARNING)(?=$|[\s\]):|,])/
/** Redis marks its lines with a level character: `1:M 21 Nov 2026 22:46:26.260 # message` (# = warning). */
const REDIS = /^\d+:[XCSM] \d\d? \w{3} \d{4} [\d:.]+ ([#*.-]) /
/** `error: …` / `fatal: …` at the start of a line, and Python tracebacks. */
const LEADING = /^\s*(?:(error|fatal|panic)|(warning|warn))\b[:\s]/i

export function levelOf(text: string): Level {
  const structured = STRUCTURED.exec(text)
  if (structured) return /^warn/i.test(structured[1] ?? '') ? 'warning' : 'error'
  const word = LEVEL_WORD.exec(text)
  if (word) return /^WARN/.test(word[1] ?? '') ? 'warning' : 'error'
  const redis = REDIS.exec(text)
  if (redis) return redis[1] === '#' ? 'warning' : undefined
  const leading = LEADING.exec(text)
  if (leading) return leading[1] ? 'error' : 'warning'
  if (text.startsWith('Traceback (most recent call last)')) return 'error'
  return undefined
}

/** Access-log lines (`"GET /x HTTP/1.1" 404`) and structured fields (`status=503`, `"status":500`). */
const ACCESS = /"[A-Z]{3,7} \S+ HTTP\/\d(?:\.\d)?" (\d{3})\b/
const STATUS_FIELD = /\b(?:status|status_code|statusCode|http_status)["']?\s*[=:]\s*["']?([1-5]\d\d)\b/

export function httpStatusOf(text: string): number | undefined {
  const match = ACCESS.exec(text) ?? STATUS_FIELD.exec(text)
  return match ? Number(match[1]) : undefined
}

export class Summarizer {
  private readonly byService = new Map<string, ServiceSummary>()

  add(service: string, ts: string, text: string): void {
    let s = this.byService.get(service)
    if (!s) {
      s = {service, lines: 0, errors: 0, warnings: 0, http4xx: 0, http5xx: 0, first: null, last: null}
      this.byService.set(service, s)
    }
    s.lines += 1
    if (s.first === null || ts < s.first) s.first = ts
    if (s.last === null || ts > s.last) s.last = ts
    const level = levelOf(text)
    if (level === 'error') s.errors += 1
    else if (level === 'warning') s.warnings += 1
    const status = httpStatusOf(text)
    if (status !== undefined && status >= 400) {
      if (status < 500) s.http4xx += 1
      else s.http5xx += 1
    }
  }

  /** Services with lines (and those named, with zeros), sorted by name, plus the totals. */
  result(services: string[] = []): {services: ServiceSummary[]; total: Omit<ServiceSummary, 'service'>} {
    for (const name of services) if (!this.byService.has(name)) this.byService.set(name, {service: name, lines: 0, errors: 0, warnings: 0, http4xx: 0, http5xx: 0, first: null, last: null})
    const list = [...this.byService.values()].sort((a, b) => (a.service < b.service ? -1 : 1))
    const total = {lines: 0, errors: 0, warnings: 0, http4xx: 0, http5xx: 0, first: null as string | null, last: null as string | null}
    for (const s of list) {
      total.lines += s.lines
      total.errors += s.errors
      total.warnings += s.warnings
      total.http4xx += s.http4xx
      total.http5xx += s.http5xx
      if (s.first && (total.first === null || s.first < total.first)) total.first = s.first
      if (s.last && (total.last === null || s.last > total.last)) total.last = s.last
    }
    return {services: list, total}
  }
}
