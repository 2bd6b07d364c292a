// bench/logs: `tta logs` against `docker compose logs` on the same 100k lines (10 services x 10k
// lines, interleaved in time), in one run, rounds interleaved. tta reads through the Engine API,
// its only path (nothing reads the engine's log files), and merges every line in timestamp order;
// Compose prints them as they arrive. Prints a table of medians and ratios and writes
// bench/results/logs.json.
//
//   npx tsx bench/logs.ts               (needs the engine, Compose v2, the built CLI and the stand-ins)
//   npx tsx bench/logs.ts --rounds 9
import {spawnSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, openSync, closeSync, rmSync, writeFileSync} from 'node:fs'
import {loadavg, tmpdir} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import {engineVersion, median, printTable, removeProject} from './lib.js'

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const tta = join(repo, 'bin', 'run.js')
const PROJECT = 'bench-logs'
const SERVICES = 10
const LINES = 10_000

/**
 * A busybox service printing LINES lines that look like an API's (access lines, some warnings
 * and errors), all services at once so their timestamps interleave, then idling.
 */
function composeFile(): string {
  const services = Array.from({length: SERVICES}, (_, n) => {
    const name = `svc${String(n).padStart(2, '0')}`
    const script = [
      'i=0',
      `while [ $i -lt ${LINES} ]; do`,
      `  case $((i % 50)) in 7) echo "ERROR ${name} request $i failed: upstream timed out after 30s" >&2;; 13) echo "WARNING ${name} slow query $i took 1200ms";; *) echo "INFO: 172.18.0.1:5${n}00 - \\"GET /api/items/$i HTTP/1.1\\" 200 OK ${name}";; esac`,
      '  i=$((i + 1))',
      'done',
      `echo "${name} done"`,
      'exec sleep 3600',
    ].join('\n')
    return `  ${name}:\n    image: tta-standin/frontend:local\n    entrypoint: ["/bin/sh", "-c"]\n    command: [${JSON.stringify(script.replace(/\$/g, '$$$$'))}]\n    stop_grace_period: 1s\n`
  })
  return `services:\n${services.join('')}`
}

/** Runs a command with stdout going to /dev/null (the same sink for every contender), returns ms. */
function timed(command: string, args: string[], env: NodeJS.ProcessEnv): number {
  const devnull = openSync('/dev/null', 'w')
  try {
    const t0 = performance.now()
    const result = spawnSync(command, args, {env, stdio: ['ignore', devnull, 'pipe'], encoding: 'utf8'})
    const ms = performance.now() - t0
    if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${result.status}:\n${(result.stderr ?? '').slice(-2000)}`)
    return ms
  } finally {
    closeSync(devnull)
  }
}

function lineCount(command: string, args: string[], env: NodeJS.ProcessEnv): number {
  const result = spawnSync(command, args, {env, encoding: 'utf8', maxBuffer: 512 * 1024 * 1024})
  return result.stdout.split('\n').filter(Boolean).length
}



async function main(): Promise<void> {
  const roundsArg = process.argv.indexOf('--rounds')
  const rounds = roundsArg > 0 ? Number(process.argv[roundsArg + 1]) : 7
  const workspace = mkdtempSync(join(tmpdir(), 'tta-bench-logs-'))
  const file = join(workspace, 'docker-compose.yml')
  writeFileSync(file, composeFile())
  const env: NodeJS.ProcessEnv = {...process.env, NO_COLOR: '1'}
  removeProject(PROJECT)
  try {
    process.stderr.write(`bench logs: ${SERVICES} services writing ${LINES} lines each…\n`)
    timed(process.execPath, [tta, 'dev', '-f', file, '--workspace', workspace, '--project-name', PROJECT], env)
    const deadline = Date.now() + 600_000
    for (;;) {
      // stdout and stderr reach the log file through separate copiers: the done line may not be the last one.
      const done = Array.from({length: SERVICES}, (_, n) => {
        const out = spawnSync('docker', ['logs', '--tail', '200', `${PROJECT}-svc${String(n).padStart(2, '0')}-1`], {encoding: 'utf8'})
        return `${out.stdout}${out.stderr}`.includes('done')
      }).every(Boolean)
      if (done) break
      if (Date.now() > deadline) throw new Error('the services did not finish writing their lines within 600 s')
      await new Promise((r) => setTimeout(r, 500))
    }
    const base = [tta, 'logs', '--workspace', workspace, '--project-name', PROJECT]
    const contenders: Record<string, [string, string[]]> = {
      'docker compose logs': ['docker', ['compose', '-p', PROJECT, 'logs', '--no-color']],
      'docker compose logs -t': ['docker', ['compose', '-p', PROJECT, 'logs', '--no-color', '-t']],
      'tta logs (engine API)': [process.execPath, base],
      'tta logs -t': [process.execPath, [...base, '-t']],
      'tta logs --json': [process.execPath, [...base, '--json']],
      'tta logs --grep ERROR': [process.execPath, [...base, '--grep', 'ERROR']],
      'tta logs --summary': [process.execPath, [...base, '--summary']],
    }
    const counts = {compose: lineCount('docker', ['compose', '-p', PROJECT, 'logs', '--no-color'], env), tta: lineCount(process.execPath, base, env)}
    for (const [command, args] of Object.values(contenders)) timed(command, args, env)
    const samples: Record<string, number[]> = Object.fromEntries(Object.keys(contenders).map((k) => [k, []]))
    for (let round = 0; round < rounds; round++) {
      for (const [name, [command, args]] of Object.entries(contenders)) samples[name]?.push(timed(command, args, env))
    }
    const compose = median(samples['docker compose logs'] ?? [])
    const rows = Object.entries(samples).map(([name, xs]) => ({name, medianMs: Math.round(median(xs)), minMs: Math.round(Math.min(...xs)), ratio: Math.round((median(xs) / compose) * 100) / 100}))
    const header = ['command', 'median', 'min', 'vs compose logs']
    const lines = rows.map((r) => [r.name, `${r.medianMs} ms`, `${r.minMs} ms`, `${r.ratio.toFixed(2)}x`])
    printTable(header, lines)
    const engine = engineVersion()
    const load = loadavg().map((l) => Math.round(l * 100) / 100)
    mkdirSync(join(repo, 'bench/results'), {recursive: true})
    writeFileSync(join(repo, 'bench/results/logs.json'), JSON.stringify({date: new Date().toISOString(), engine, services: SERVICES, linesPerService: LINES, linesPrinted: counts, rounds, loadAverage: load, rows}, null, 2) + '\n')
    process.stdout.write(`${counts.tta} lines from tta, ${counts.compose} from compose (${SERVICES} services), ${rounds} rounds, engine ${engine}, load average ${load.join(' ')}; written to bench/results/logs.json\n`)
  } finally {
    removeProject(PROJECT)
    rmSync(workspace, {recursive: true, force: true})
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench logs failed: ${(error as Error).message}\n`)
  process.exitCode = 1
})
