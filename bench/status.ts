// bench/status: `tta status` (every service probed at the protocol level, CPU and memory read)
// against `docker compose ps` (state only) on the same running stack, in one run, rounds
// interleaved (in a new random order each round) so load on the machine hits both alike. Prints
// a table of medians and ratios and writes bench/results/status.json.
//
//   npx tsx bench/status.ts              (needs the engine, Compose v2, the built CLI and the stand-ins)
//   npx tsx bench/status.ts --rounds 30
import {spawnSync} from 'node:child_process'
import {cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {loadavg, tmpdir} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import {engineVersion, freePort, median, p90, printTable, removeProject} from './lib.js'

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const tta = join(repo, 'bin', 'run.js')
const PROJECT = 'bench-status'
const PORT_VARS = ['REDIS', 'NEO4J_HTTP', 'NEO4J_BOLT', 'POSTGRES', 'ADMIN_API', 'CLINICAL_API', 'DEVELOPER_API', 'PATIENT_API', 'LANGGRAPH', 'FRONTEND', 'PROMETHEUS', 'ALERTMANAGER', 'GRAFANA', 'LOKI', 'NODE_EXPORTER', 'CADVISOR', 'BLACKBOX', 'POSTGRES_EXPORTER', 'REDIS_EXPORTER'].map((n) => `TTA_${n}_PORT`)


/** Runs a command with its output discarded by the child itself (no pipe to drain), returns ms. */
function timed(command: string, args: string[], env: NodeJS.ProcessEnv, expectCode = 0): number {
  const t0 = performance.now()
  const result = spawnSync(command, args, {env, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8'})
  const ms = performance.now() - t0
  if (result.status !== expectCode) throw new Error(`${command} ${args.join(' ')} exited ${result.status}:\n${(result.stderr ?? '').slice(-2000)}`)
  return ms
}



async function main(): Promise<void> {
  const roundsArg = process.argv.indexOf('--rounds')
  const rounds = roundsArg > 0 ? Number(process.argv[roundsArg + 1]) : 15
  const workspace = mkdtempSync(join(tmpdir(), 'tta-bench-status-'))
  cpSync(join(repo, 'test/fixtures/workspace'), workspace, {recursive: true})
  const env: NodeJS.ProcessEnv = {...process.env, NO_COLOR: '1'}
  for (const name of PORT_VARS) env[name] = String(await freePort())
  removeProject(PROJECT)
  try {
    process.stderr.write('bench status: starting the fixture stack (tta full)…\n')
    timed(process.execPath, [tta, 'full', '--workspace', workspace, '--project-name', PROJECT], env)
    const base = [tta, 'status', '--workspace', workspace, '--project-name', PROJECT]
    const contenders: Record<string, () => number> = {
      'docker compose ps': () => timed('docker', ['compose', '-p', PROJECT, 'ps'], env),
      'tta status': () => timed(process.execPath, base, env),
      'tta status --no-stats': () => timed(process.execPath, [...base, '--no-stats'], env),
      'tta status --json': () => timed(process.execPath, [...base, '--json'], env),
      'tta status --check': () => timed(process.execPath, [...base, '--check'], env),
    }
    // The floor any Node CLI pays: starting node; tta --version answers before loading oclif.
    const floors: Record<string, () => number> = {
      'node -e 0': () => timed(process.execPath, ['-e', '0'], env),
      'tta --version': () => timed(process.execPath, [tta, '--version'], env),
    }
    const all = {...contenders, ...floors}
    for (const run of Object.values(all)) run() // warm the page cache once
    const samples: Record<string, number[]> = Object.fromEntries(Object.keys(all).map((k) => [k, []]))
    // A new random order every round: what one command leaves behind (containers still answering
    // its probes, the engine's caches) must not always land on the same next one.
    const entries = Object.entries(all)
    for (let round = 0; round < rounds; round++) {
      for (let i = entries.length - 1; i > 0; i--) {
        const j = Math.floor(Math.random() * (i + 1))
        ;[entries[i], entries[j]] = [entries[j] as (typeof entries)[number], entries[i] as (typeof entries)[number]]
      }
      for (const [name, run] of entries) samples[name]?.push(run())
    }
    const compose = median(samples['docker compose ps'] ?? [])
    const rows = Object.entries(samples).map(([name, xs]) => ({name, medianMs: Math.round(median(xs)), p90Ms: Math.round(p90(xs)), ratio: Math.round((median(xs) / compose) * 100) / 100}))
    const header = ['command', 'median', 'p90', 'vs compose ps']
    const lines = rows.map((r) => [r.name, `${r.medianMs} ms`, `${r.p90Ms} ms`, `${r.ratio.toFixed(2)}x`])
    printTable(header, lines)
    const engine = engineVersion()
    const load = loadavg().map((l) => Math.round(l * 100) / 100)
    mkdirSync(join(repo, 'bench/results'), {recursive: true})
    writeFileSync(join(repo, 'bench/results/status.json'), JSON.stringify({date: new Date().toISOString(), engine, services: 19, rounds, loadAverage: load, rows}, null, 2) + '\n')
    process.stdout.write(`19 services (core + monitoring), ${rounds} rounds, engine ${engine}, load average ${load.join(' ')}; written to bench/results/status.json\n`)
  } finally {
    removeProject(PROJECT)
    rmSync(workspace, {recursive: true, force: true})
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench status failed: ${(error as Error).message}\n`)
  process.exitCode = 1
})
