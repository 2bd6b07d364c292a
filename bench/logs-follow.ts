// bench/logs-follow: memory of `tta logs -f` on 20 chatty services over a long run (issue target:
// under 150 MB RSS for 10 minutes), with `docker compose logs -f` followed alongside as the
// reference. Every service prints ~50 lines a second; every minute a few containers restart, so
// the follower keeps attaching new streams (where leaks would show). RSS is read from /proc every
// second; stdout is drained and counted, so a follower that falls behind shows in lines/s.
// Prints a table and writes bench/results/logs-follow.json.
//
//   npx tsx bench/logs-follow.ts                 (10 minutes; needs the engine, Compose v2, the built CLI, the stand-ins)
//   npx tsx bench/logs-follow.ts --minutes 2
import {spawn, spawnSync, type ChildProcess} from 'node:child_process'
import {mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {loadavg, tmpdir} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import {engineVersion, printTable, removeProject} from './lib.js'

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const tta = join(repo, 'bin', 'run.js')
const PROJECT = 'bench-logs-follow'
const SERVICES = 20
const RESTARTS_PER_MINUTE = 4

/** A busybox service printing batches of five API-like lines ten times a second, forever. */
function composeFile(): string {
  const services = Array.from({length: SERVICES}, (_, n) => {
    const name = `chatty${String(n).padStart(2, '0')}`
    const script = [
      'i=0',
      'while true; do',
      `  echo "INFO: 172.18.0.1:5${n}00 - \\"GET /api/items/$i HTTP/1.1\\" 200 OK ${name}"`,
      `  echo "INFO: 172.18.0.1:5${n}01 - \\"POST /api/sessions HTTP/1.1\\" 201 Created ${name}"`,
      `  echo "DEBUG ${name} cache hit ratio 0.93 after request $i"`,
      `  echo "WARNING ${name} slow query $i took 1200ms"`,
      `  echo "ERROR ${name} request $i failed: upstream timed out after 30s" >&2`,
      '  i=$((i + 1))',
      '  sleep 0.1',
      'done',
    ].join('\n')
    return `  ${name}:\n    image: tta-standin/frontend:local\n    entrypoint: ["/bin/sh", "-c"]\n    command: [${JSON.stringify(script.replace(/\$/g, '$$$$'))}]\n    stop_grace_period: 1s\n`
  })
  return `services:\n${services.join('')}`
}

function rssMb(pid: number): number | undefined {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]
    return kb ? Number(kb) / 1024 : undefined
  } catch {
    return undefined
  }
}

/** The process tree's RSS: `docker compose logs` is the docker CLI plus its compose plugin child. */
function treeRssMb(pid: number): number | undefined {
  const own = rssMb(pid)
  if (own === undefined) return undefined
  let children: number[] = []
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number)
  } catch {
    // no children file: count the process alone
  }
  return own + children.reduce((sum, child) => sum + (treeRssMb(child) ?? 0), 0)
}

interface Follower {
  name: string
  child: ChildProcess
  lines: number
  rss: number[]
}

function follow(name: string, command: string, args: string[], env: NodeJS.ProcessEnv): Follower {
  const child = spawn(command, args, {env, stdio: ['ignore', 'pipe', 'pipe']})
  const follower: Follower = {name, child, lines: 0, rss: []}
  child.stdout?.on('data', (chunk: Buffer) => {
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) follower.lines++
  })
  child.stderr?.setEncoding('utf8').on('data', (text: string) => process.stderr.write(`[${name}] ${text}`))
  return follower
}


const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
const round1 = (x: number): number => Math.round(x * 10) / 10

async function main(): Promise<void> {
  const minutesArg = process.argv.indexOf('--minutes')
  const minutes = minutesArg > 0 ? Number(process.argv[minutesArg + 1]) : 10
  const workspace = mkdtempSync(join(tmpdir(), 'tta-bench-follow-'))
  const file = join(workspace, 'docker-compose.yml')
  writeFileSync(file, composeFile())
  const env: NodeJS.ProcessEnv = {...process.env, NO_COLOR: '1'}
  removeProject(PROJECT)
  const followers: Follower[] = []
  try {
    process.stderr.write(`bench logs-follow: ${SERVICES} services, ${minutes} min…\n`)
    const up = spawnSync(process.execPath, [tta, 'dev', '-f', file, '--workspace', workspace, '--project-name', PROJECT], {env, encoding: 'utf8'})
    if (up.status !== 0) throw new Error(`tta dev exited ${up.status}:\n${up.stderr}`)
    followers.push(
      follow('tta logs -f', process.execPath, [tta, 'logs', '-f', '-n', '10', '--workspace', workspace, '--project-name', PROJECT], env),
      follow('docker compose logs -f', 'docker', ['compose', '-p', PROJECT, 'logs', '-f', '--no-color', '--tail', '10'], env),
    )
    const started = Date.now()
    const end = started + minutes * 60_000
    let nextRestart = started + 60_000
    let restarted = 0
    while (Date.now() < end) {
      await sleep(1000)
      for (const f of followers) {
        const rss = f.child.pid === undefined ? undefined : treeRssMb(f.child.pid)
        if (rss === undefined) throw new Error(`${f.name} exited early (code ${f.child.exitCode})`)
        f.rss.push(rss)
      }
      if (Date.now() >= nextRestart) {
        nextRestart += 60_000
        const names = Array.from({length: RESTARTS_PER_MINUTE}, (_, k) => `${PROJECT}-chatty${String((restarted + k) % SERVICES).padStart(2, '0')}-1`)
        restarted += RESTARTS_PER_MINUTE
        spawn('docker', ['restart', '-t', '1', ...names], {stdio: 'ignore'})
      }
      const elapsed = Math.round((Date.now() - started) / 1000)
      if (elapsed % 60 === 0) process.stderr.write(`  ${elapsed} s: ${followers.map((f) => `${f.name} ${round1(f.rss.at(-1) ?? 0)} MB, ${f.lines} lines`).join('; ')}\n`)
    }
    const seconds = (Date.now() - started) / 1000
    const rows = followers.map((f) => {
      const firstMinute = f.rss.slice(0, 60)
      const lastMinute = f.rss.slice(-60)
      return {
        name: f.name,
        maxRssMb: round1(Math.max(...f.rss)),
        firstMinuteMaxMb: round1(Math.max(...firstMinute)),
        lastMinuteMaxMb: round1(Math.max(...lastMinute)),
        lines: f.lines,
        linesPerSecond: Math.round(f.lines / seconds),
      }
    })
    const header = ['follower', 'max RSS', '1st min max', 'last min max', 'lines', 'lines/s']
    const lines = rows.map((r) => [r.name, `${r.maxRssMb} MB`, `${r.firstMinuteMaxMb} MB`, `${r.lastMinuteMaxMb} MB`, String(r.lines), String(r.linesPerSecond)])
    printTable(header, lines)
    const engine = engineVersion()
    const load = loadavg().map((l) => Math.round(l * 100) / 100)
    const ttaRow = rows[0]
    const verdict = ttaRow && ttaRow.maxRssMb < 150 ? 'within' : 'OVER'
    mkdirSync(join(repo, 'bench/results'), {recursive: true})
    writeFileSync(
      join(repo, 'bench/results/logs-follow.json'),
      JSON.stringify({date: new Date().toISOString(), engine, services: SERVICES, minutes, restartsPerMinute: RESTARTS_PER_MINUTE, loadAverage: load, targetMb: 150, rows}, null, 2) + '\n',
    )
    process.stdout.write(`tta logs -f max RSS ${ttaRow?.maxRssMb} MB: ${verdict} the 150 MB target; ${minutes} min, ${restarted} restarts, engine ${engine}, load ${load.join(' ')}; written to bench/results/logs-follow.json\n`)
  } finally {
    for (const f of followers) f.child.kill('SIGINT')
    removeProject(PROJECT)
    rmSync(workspace, {recursive: true, force: true})
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench logs-follow failed: ${(error as Error).message}\n`)
  process.exitCode = 1
})
