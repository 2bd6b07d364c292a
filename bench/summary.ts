// bench/summary: one table of every ratio the benchmarks measured (bench/results/*.json), each
// beside its target from the speed issue, with whether it is met. `npm run bench` runs every
// benchmark and then this; run it alone to re-read the last results. Each figure is a ratio
// taken within one run of its benchmark, never a time compared across runs.
//
//   npx tsx bench/summary.ts        (exit 1 when a target is missed or a result is missing)
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

import {median, printTable} from './lib.js'

const results = join(resolve(dirname(fileURLToPath(import.meta.url)), '..'), 'bench/results')

interface Line {
  what: string
  /** The ratio (or MB for memory, seconds for a latency). */
  value: number | undefined
  unit: 'x' | 'MB' | 's'
  /** At most this; undefined: reported, no target. */
  target?: number
  /** The benchmark and its date, or why there is no figure. */
  source: string
}

function read<T>(name: string): (T & {date?: string}) | undefined {
  const file = join(results, name)
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as T & {date?: string}) : undefined
}

const day = (date: string | undefined): string => (date ?? '').slice(0, 10)

function statusLines(): Line[] {
  const status = read<{rows: Array<{name: string; medianMs: number; ratio: number}>}>('status.json')
  const row = (name: string) => status?.rows.find((r) => r.name === name)
  const source = status ? `bench/status.ts ${day(status.date)}` : 'no bench/results/status.json: npx tsx bench/status.ts'
  return [
    {what: 'tta status / docker compose ps', value: row('tta status')?.ratio, unit: 'x', target: 2, source},
    {what: 'tta status --json / docker compose ps', value: row('tta status --json')?.ratio, unit: 'x', source},
  ]
}

interface UpRow {
  case: string
  date?: string
  ttaCold: number
  ttaWarm: number
  composeCold: number
  composeWarm: number
  limit: number
  checkCpuS?: {tta: number[]; compose: number[]}
}

function upLines(): Line[] {
  const up = read<{rows: UpRow[]}>('up.json')
  const row = (name: string) => up?.rows.find((r) => r.case === name)
  const source = (r: UpRow | undefined): string => (r ? `bench/up.ts ${day(r.date ?? up?.date)}` : 'no bench/results/up.json row: npx tsx bench/up.ts')
  const core = row('core')
  const lines: Line[] = [
    {what: 'tta dev cold (core, hot reload) / compose up -d --wait', value: core && core.ttaCold / core.composeCold, unit: 'x', target: 0.7, source: source(core)},
    {what: 'tta dev cold (core) / zero-cost limit', value: core && core.ttaCold / core.limit, unit: 'x', target: 1.1, source: source(core)},
    {what: 'tta dev warm (core) / compose up -d warm', value: core && core.ttaWarm / core.composeWarm, unit: 'x', target: 0.6, source: source(core)},
    {what: 'readiness-check CPU in containers (core cold) tta / compose', value: core?.checkCpuS ? median(core.checkCpuS.tta) / Math.max(1e-9, median(core.checkCpuS.compose)) : undefined, unit: 'x', target: 1, source: source(core)},
  ]
  const chain = row('chain')
  lines.push({what: 'tta dev cold (chain) / compose up -d --wait', value: chain && chain.ttaCold / chain.composeCold, unit: 'x', target: 0.5, source: source(chain)})
  for (const n of [10, 50, 100]) {
    const scale = row(`scale-${n}`)
    lines.push({what: `tta dev cold (${n} services) / compose`, value: scale && scale.ttaCold / scale.composeCold, unit: 'x', target: n === 100 ? 1 : undefined, source: source(scale)})
    lines.push({what: `tta dev warm (${n} services) / compose`, value: scale && scale.ttaWarm / scale.composeWarm, unit: 'x', target: 0.6, source: source(scale)})
  }
  return lines
}

function otherLines(): Line[] {
  const logs = read<{rows: Array<{name: string; ratio: number}>}>('logs.json')
  const backup = read<{ratio: number}>('backup.json')
  const follow = read<{rows: Array<{name: string; maxRssMb: number}>; minutes: number; services: number}>('logs-follow.json')
  return [
    {what: 'tta logs (engine API) / docker compose logs', value: logs?.rows.find((r) => r.name === 'tta logs (engine API)')?.ratio, unit: 'x', source: logs ? `bench/logs.ts ${day(logs.date)}` : 'no bench/results/logs.json: npx tsx bench/logs.ts'},
    {what: 'tta backup postgres / docker exec pg_dump', value: backup?.ratio, unit: 'x', source: backup ? `bench/backup.ts ${day(backup.date)}` : 'no bench/results/backup.json: npm run bench:backup'},
    {
      what: `tta logs -f max RSS (${follow?.services ?? 20} services, ${follow?.minutes ?? 10} min)`,
      value: follow?.rows.find((r) => r.name === 'tta logs -f')?.maxRssMb,
      unit: 'MB',
      target: 150,
      source: follow ? `bench/logs-follow.ts ${day(follow.date)}` : 'no bench/results/logs-follow.json: npm run bench:memory',
    },
  ]
}

interface WatchStats {
  median: number
}

/** Issue #19: `tta dev --watch` against `docker compose watch`, and the bind-mount figure beside them. */
function watchLines(): Line[] {
  const watch = read<{edit: {tta: WatchStats; compose: WatchStats; bind: WatchStats; ratio: number}; rebuild: {tta: WatchStats; compose: WatchStats; ratio: number}}>('watch.json')
  const source = watch ? `bench/watch.ts ${day(watch.date)}` : 'no bench/results/watch.json: npx tsx bench/watch.ts'
  return [
    {what: 'tta dev --watch edit → response / docker compose watch', value: watch?.edit.ratio, unit: 'x', target: 1, source},
    {what: 'tta dev --watch edit → response, median', value: watch && watch.edit.tta.median / 1000, unit: 's', target: 1, source},
    {what: 'tta dev --watch rebuild → recreated answering / compose watch', value: watch?.rebuild.ratio, unit: 'x', target: 1, source},
    {what: 'tta dev (bind mount) edit → response, median', value: watch && watch.edit.bind.median / 1000, unit: 's', source},
  ]
}

const lines = [...statusLines(), ...upLines(), ...otherLines(), ...watchLines()]
const verdict = (l: Line): string => (l.value === undefined ? (l.target === undefined ? '' : 'no figure') : l.target === undefined ? '' : l.value <= l.target ? 'met' : 'MISSED')
printTable(
  ['measure', 'figure', 'target', '', 'from'],
  lines.map((l) => [l.what, l.value === undefined ? '-' : l.unit === 'x' ? `${l.value.toFixed(2)}x` : `${l.value.toFixed(l.unit === 's' ? 2 : 1)} ${l.unit}`, l.target === undefined ? '' : `<= ${l.target}${l.unit === 'x' ? 'x' : ` ${l.unit}`}`, verdict(l), l.source]),
)
writeFileSync(join(results, 'summary.json'), JSON.stringify({date: new Date().toISOString(), lines: lines.map((l) => ({...l, verdict: verdict(l) || undefined}))}, null, 2) + '\n')
const missed = lines.filter((l) => verdict(l) === 'MISSED' || verdict(l) === 'no figure')
process.stdout.write(missed.length === 0 ? 'every target met; written to bench/results/summary.json\n' : `${missed.length} target(s) missed or not measured; written to bench/results/summary.json\n`)
if (missed.length > 0) process.exitCode = 1
