/**
 * The compose conformance corpus: cases (manifest.json), what Docker Compose printed for each
 * (expected.json, recorded by scripts/conformance/expect.mjs) and the comparison with tta's
 * loader. Engine-free: nothing here talks to Docker.
 */
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {loadProject} from '../../src/compose/load.js'
import {composeView} from '../../src/compose/view.js'
import {TtaError} from '../../src/errors.js'

export const corpusRoot = path.dirname(fileURLToPath(import.meta.url))
/** The HOME both tools see (expect.mjs runs Compose with it). */
export const CONFORMANCE_HOME = '/nonexistent/conformance-home'

export interface Case {
  id: string
  dir: string
  files: string[]
  /** Relative to the corpus; defaults to the first file's directory, as in Compose. */
  projectDirectory?: string
  origin: {repo: string; path: string; commit: string; line?: number}
}

export interface Answer {
  exit: number
  config?: unknown
  error?: string
}

export type Verdict = 'agree' | 'differ' | 'both-refuse' | 'tta-refuses' | 'compose-refuses'

export interface CaseResult {
  id: string
  verdict: Verdict
  /** tta threw something that is not an input error: a crash, with its stack. */
  crash?: string
  ttaError?: string
  composeError?: string
  /** JSON paths where the two configs differ (first few). */
  differences?: string[]
}

export function readCorpus(): {cases: Case[]; expected: {compose: string; results: Record<string, Answer>}} {
  const manifest = JSON.parse(readFileSync(path.join(corpusRoot, 'manifest.json'), 'utf8')) as {cases: Case[]}
  const expected = JSON.parse(readFileSync(path.join(corpusRoot, 'expected.json'), 'utf8')) as {compose: string; results: Record<string, Answer>}
  return {cases: manifest.cases, expected}
}

/** Keys sorted at every level, so that two configs compare as text. */
function sorted(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sorted)
  if (v && typeof v === 'object') {
    return Object.fromEntries(
      Object.keys(v as Record<string, unknown>)
        .sort()
        .map((k) => [k, sorted((v as Record<string, unknown>)[k])]),
    )
  }
  return v
}

function differences(a: unknown, b: unknown, at: string, out: string[]): void {
  if (out.length >= 8) return
  if (JSON.stringify(a) === JSON.stringify(b)) return
  if (a && b && typeof a === 'object' && typeof b === 'object' && Array.isArray(a) === Array.isArray(b)) {
    const ka = Object.keys(a as object)
    const kb = Object.keys(b as object)
    for (const k of [...new Set([...ka, ...kb])]) {
      differences((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${at}.${k}`, out)
    }
    return
  }
  out.push(`${at}: compose ${JSON.stringify(a)?.slice(0, 120)} / tta ${JSON.stringify(b)?.slice(0, 120)}`)
}

/** What tta's loader says about one case, in Compose's `config --format json` shape. */
export function runTta(c: Case): Answer & {crash?: string} {
  const files = c.files.map((f) => path.join(corpusRoot, c.dir, f))
  // `~` expands to the HOME Compose saw (os.homedir() reads HOME); replacing the real home in the
  // output instead would also rewrite values that merely contain it (mysql://root:... under /root).
  const home = process.env.HOME
  process.env.HOME = CONFORMANCE_HOME
  try {
    const loaded = loadProject({
      files,
      environment: {PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: CONFORMANCE_HOME},
      ...(c.projectDirectory ? {workingDir: path.join(corpusRoot, c.projectDirectory)} : {}),
    })
    const text = JSON.stringify(composeView(loaded.project))
      .replaceAll(corpusRoot, '<corpus>')
      .replaceAll(CONFORMANCE_HOME, '<home>')
    return {exit: 0, config: JSON.parse(text) as unknown}
  } catch (e) {
    if (e instanceof TtaError) return {exit: e.exitCode, error: e.message.replaceAll(corpusRoot, '<corpus>')}
    return {exit: -1, error: String(e), crash: (e as Error).stack ?? String(e)}
  } finally {
    if (home === undefined) delete process.env.HOME
    else process.env.HOME = home
  }
}

export function compare(c: Case, compose: Answer | undefined): CaseResult {
  const tta = runTta(c)
  const result: CaseResult = {id: c.id, verdict: 'agree'}
  if (tta.crash) result.crash = tta.crash
  if (tta.error) result.ttaError = tta.error.split('\n').slice(0, 3).join('\n')
  if (compose?.error) result.composeError = compose.error
  const composeOk = compose?.exit === 0
  const ttaOk = tta.exit === 0
  if (!composeOk && !ttaOk) result.verdict = 'both-refuse'
  else if (!composeOk) result.verdict = 'compose-refuses'
  else if (!ttaOk) result.verdict = 'tta-refuses'
  else {
    const a = sorted(compose.config)
    const b = sorted(tta.config)
    if (JSON.stringify(a) !== JSON.stringify(b)) {
      result.verdict = 'differ'
      result.differences = []
      differences(a, b, '', result.differences)
    }
  }
  return result
}

export interface Report {
  compose: string
  total: number
  /** Same config or both refuse, over all cases. */
  agreement: number
  /** Same config, over the cases Compose accepts (the stricter figure). */
  acceptedAgreement: number
  counts: Record<Verdict, number>
  cases: CaseResult[]
}

export function summarize(compose: string, results: CaseResult[]): Report {
  const counts: Record<Verdict, number> = {agree: 0, differ: 0, 'both-refuse': 0, 'tta-refuses': 0, 'compose-refuses': 0}
  for (const r of results) counts[r.verdict]++
  const agreement = results.length === 0 ? 0 : (counts.agree + counts['both-refuse']) / results.length
  const accepted = counts.agree + counts.differ + counts['tta-refuses']
  const acceptedAgreement = accepted === 0 ? 0 : counts.agree / accepted
  return {compose, total: results.length, agreement, acceptedAgreement, counts, cases: results}
}

export function writeReport(report: Report, file: string): void {
  mkdirSync(path.dirname(file), {recursive: true})
  writeFileSync(file, JSON.stringify(report, null, 1) + '\n')
}
