import path from 'node:path'

import {describe, expect, it} from 'vitest'

import {compare, type CaseResult, readCorpus, summarize, writeReport} from './corpus.js'

/** The share of cases where tta and Compose 2.26.1 agree (same config, or both refuse); see docs/compose-compat.md. */
const AGREEMENT_THRESHOLD = 0.98

const {cases, expected} = readCorpus()
const reportFile = process.env.TTA_CONFORMANCE_REPORT ?? path.resolve('.cache/conformance/report.json')

describe(`compose conformance corpus (against docker compose ${expected.compose})`, () => {
  const results: CaseResult[] = cases.map((c) => compare(c, expected.results[c.id]))
  const report = summarize(expected.compose, results)
  writeReport(report, reportFile)

  it('has at least 300 cases, each with Compose\'s recorded answer', () => {
    expect(cases.length).toBeGreaterThanOrEqual(300)
    expect(cases.filter((c) => !expected.results[c.id]).map((c) => c.id)).toEqual([])
  })

  it('never crashes: every refusal is an input error, not a stack trace', () => {
    expect(results.filter((r) => r.crash).map((r) => `${r.id}: ${r.crash}`)).toEqual([])
  })

  it('names file:line:column in every refusal', () => {
    const unplaced = results.flatMap((r) =>
      (r.ttaError ?? '')
        .split('\n')
        .filter((line) => line !== '' && !/^<corpus>\S*:\d+:\d+: /.test(line))
        .map((line) => `${r.id}: ${line}`),
    )
    expect(unplaced).toEqual([])
  })

  it(`agrees with Compose on at least ${AGREEMENT_THRESHOLD * 100}% of the cases (report: ${reportFile})`, () => {
    expect(report.agreement).toBeGreaterThanOrEqual(AGREEMENT_THRESHOLD)
  })
})
