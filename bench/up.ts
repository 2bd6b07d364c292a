// bench/up: `tta dev` against `docker compose up -d --wait` on the same files, in one run, cold
// (nothing created) and warm (all running, nothing changed), and against the critical-path
// limit: the same containers started in dependency order by a minimal script that polls each
// one's healthcheck every 50 ms. Prints a table of ratios and writes bench/results/up.json.
//
//   npm run bench            (needs the engine, Compose v2, the built CLI and the stand-ins: npm test provides them)
//   npx tsx bench/up.ts chain scale-100   (some cases)
//   npx tsx bench/up.ts --rounds 3 scale-100   (medians of 3 rounds; who goes first alternates)
import {spawnSync} from 'node:child_process'
import {cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

import {loadProject} from '../src/compose/load.js'
import type {LoadedProject, Service} from '../src/compose/model.js'
import {connectEngine, type EngineConnection} from '../src/docker/client.js'
import {execIn} from '../src/engine/container-io.js'
import {dependencyLevels} from '../src/engine/graph.js'
import {Label} from '../src/engine/labels.js'
import {healthcheckCommand} from '../src/engine/readiness.js'
import {containerSpec, networkName} from '../src/engine/spec.js'
import {loadWorkspaceConfig} from '../src/workspace/config.js'
import {median, printTable, removeProject} from './lib.js'

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const tta = join(repo, 'bin', 'run.js')

interface Case {
  name: string
  /** Compose file both tools run, and the workspace it belongs to. */
  file: string
  workspace: string
  env: Record<string, string>
}

function run(command: string, args: string[], env: Record<string, string> = {}): number {
  const t0 = performance.now()
  const result = spawnSync(command, args, {env: {...process.env, ...env, NO_COLOR: '1'}, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024})
  const ms = performance.now() - t0
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited ${result.status}:\n${(result.stderr ?? '').slice(-2000)}`)
  }
  return ms
}


/** The critical-path limit: create+start each service once its dependencies are ready, poll every 50 ms. */
async function limit(conn: EngineConnection, loaded: LoadedProject): Promise<number> {
  const {docker} = conn
  const {project} = loaded
  const t0 = performance.now()
  for (const [key, network] of Object.entries(project.networks)) {
    await docker.createNetwork({Name: networkName(project, key), Labels: {[Label.project]: project.name, ...network.labels}})
  }
  for (const volume of Object.values(project.volumes)) await docker.createVolume({Name: volume.name, Labels: {[Label.project]: project.name}})
  const ready = new Map<string, Promise<void>>()
  const startOne = async (service: Service): Promise<void> => {
    await Promise.all(Object.keys(service.depends_on ?? {}).map((dep) => ready.get(dep)))
    const container = await docker.createContainer(containerSpec({loaded, apiVersion: conn.apiVersion}, service))
    await container.start()
    const test = service.healthcheck?.test
    if (!test) return
    for (;;) {
      const result = await execIn(container, healthcheckCommand(test), 5_000)
      if (result.exitCode === 0) return
      await new Promise((r) => setTimeout(r, 50))
    }
  }
  for (const level of dependencyLevels(project, Object.keys(project.services))) {
    for (const name of level) ready.set(name, startOne(project.services[name] as Service))
  }
  await Promise.all(ready.values())
  return performance.now() - t0
}

/** The bundled core stack, resolved by tta and written out for both tools: images mapped to the stand-ins, start_interval dropped. */
function coreCase(): Case {
  const workspace = mkdtempSync(join(tmpdir(), 'tta-bench-'))
  cpSync(join(repo, 'test/fixtures/workspace'), workspace, {recursive: true})
  const env: Record<string, string> = {}
  let port = 41000
  for (const name of ['REDIS', 'NEO4J_HTTP', 'NEO4J_BOLT', 'POSTGRES', 'ADMIN_API', 'CLINICAL_API', 'DEVELOPER_API', 'PATIENT_API', 'LANGGRAPH', 'FRONTEND']) env[`TTA_${name}_PORT`] = String(port++)
  const config = spawnSync(process.execPath, [tta, 'config', '--workspace', workspace, '--no-hot-reload', '--format', 'json'], {env: {...process.env, ...env}, encoding: 'utf8'})
  if (config.status !== 0) throw new Error(config.stderr)
  const model = JSON.parse(config.stdout) as {services: Record<string, {image?: string; healthcheck?: Record<string, unknown>}>; name?: string}
  const {images} = loadWorkspaceConfig(workspace)
  delete model.name
  for (const service of Object.values(model.services)) {
    if (service.image && images[service.image]) service.image = images[service.image]
    delete service.healthcheck?.start_interval
  }
  const file = join(workspace, 'bench-core.json')
  writeFileSync(file, JSON.stringify(model, null, 2))
  return {name: 'core', file, workspace, env}
}

/** N independent services (busybox httpd, no healthcheck, no ports): what tta adds per service at scale. */
function scaleCase(count: number): () => Case {
  return () => {
    const workspace = mkdtempSync(join(tmpdir(), 'tta-bench-'))
    const services = Array.from({length: count}, (_, i) => `  s${String(i + 1).padStart(3, '0')}:\n    image: tta-standin/frontend:local\n`).join('')
    const file = join(workspace, 'docker-compose.yml')
    writeFileSync(file, `services:\n${services}`)
    return {name: `scale-${count}`, file, workspace, env: {}}
  }
}

function chainCase(): Case {
  const workspace = mkdtempSync(join(tmpdir(), 'tta-bench-'))
  return {name: 'chain', file: join(repo, 'bench/fixtures/chain/docker-compose.yml'), workspace, env: {}}
}

interface Row {
  case: string
  rounds: number
  /** Every run, for the spread; the figures above are their medians. */
  samples: Record<'ttaCold' | 'ttaWarm' | 'composeCold' | 'composeWarm' | 'limit', number[]>
  ttaCold: number
  ttaWarm: number
  composeCold: number
  composeWarm: number
  limit: number
}

async function measure(c: Case, conn: EngineConnection, rounds: number): Promise<Row> {
  const p = (suffix: string): string => `bench-${c.name}-${suffix}`
  for (const s of ['tta', 'compose', 'limit']) removeProject(p(s))
  // Images for build: services exist after the first tta run; warm the build cache out of band.
  const ttaArgs = (project: string): string[] => [tta, 'dev', '--workspace', c.workspace, '--project-name', project, '-f', c.file]
  run(process.execPath, ttaArgs(p('warmup')), c.env)
  removeProject(p('warmup'))

  const composeArgs = ['compose', '-p', p('compose'), '-f', c.file, 'up', '-d', '--wait']
  const contenders = {
    tta: () => [run(process.execPath, ttaArgs(p('tta')), c.env), run(process.execPath, ttaArgs(p('tta')), c.env)],
    compose: () => [run('docker', composeArgs, c.env), run('docker', composeArgs, c.env)],
  }
  const samples = {ttaCold: [] as number[], ttaWarm: [] as number[], composeCold: [] as number[], composeWarm: [] as number[], limit: [] as number[]}
  for (let round = 0; round < rounds; round++) {
    // Who goes first alternates: whatever the engine carries from one run to the next hits both alike.
    const order = round % 2 === 0 ? (['tta', 'compose'] as const) : (['compose', 'tta'] as const)
    for (const who of order) {
      const [cold, warm] = contenders[who]() as [number, number]
      samples[`${who}Cold`].push(cold)
      samples[`${who}Warm`].push(warm)
      // Same host ports for every contender: one stack at a time.
      removeProject(p(who))
    }
    const loaded = loadProject({files: [c.file], projectName: p('limit'), environment: {...process.env, ...c.env, TTA_WORKSPACE: c.workspace}, envFiles: []})
    samples.limit.push(await limit(conn, loaded))
    removeProject(p('limit'))
  }
  return {case: c.name, rounds, ttaCold: median(samples.ttaCold), ttaWarm: median(samples.ttaWarm), composeCold: median(samples.composeCold), composeWarm: median(samples.composeWarm), limit: median(samples.limit), samples}
}

const CASE_ORDER = ['chain', 'core', 'scale-10', 'scale-50', 'scale-100']

async function main(): Promise<void> {
  const args = process.argv.slice(2)
  const roundsAt = args.indexOf('--rounds')
  const rounds = roundsAt >= 0 ? Number(args[roundsAt + 1]) : 1
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error('--rounds takes a whole number of rounds, 1 or more')
  const wanted = args.filter((a, i) => a !== '--rounds' && i !== roundsAt + 1)
  const conn = await connectEngine()
  const unknown = wanted.filter((w) => !CASE_ORDER.includes(w))
  if (unknown.length > 0) throw new Error(`no such case: ${unknown.join(', ')} (cases: ${CASE_ORDER.join(', ')})`)
  const cases = [chainCase, coreCase, scaleCase(10), scaleCase(50), scaleCase(100)].map((make) => make()).filter((c) => wanted.length === 0 || wanted.includes(c.name))
  const rows: Row[] = []
  for (const c of cases) {
    process.stderr.write(`bench up: ${c.name}…\n`)
    rows.push(await measure(c, conn, rounds))
  }
  const s = (ms: number): string => `${(ms / 1000).toFixed(2)}s`
  const x = (a: number, b: number): string => `${(a / b).toFixed(2)}x`
  const header = ['case', 'tta cold', 'compose --wait cold', 'limit', 'tta/compose cold', 'tta/limit cold', 'tta warm', 'compose warm', 'tta/compose warm']
  const lines = rows.map((r) => [r.case, s(r.ttaCold), s(r.composeCold), s(r.limit), x(r.ttaCold, r.composeCold), x(r.ttaCold, r.limit), s(r.ttaWarm), s(r.composeWarm), x(r.ttaWarm, r.composeWarm)])
  printTable(header, lines)
  const engine = `${conn.version} (API ${conn.apiVersion})`
  mkdirSync(join(repo, 'bench/results'), {recursive: true})
  // Cases not run this time keep their last figures: a subset run does not wipe the others.
  const file = join(repo, 'bench/results/up.json')
  const date = new Date().toISOString()
  const earlier = existsSync(file) ? ((JSON.parse(readFileSync(file, 'utf8')) as {rows?: Array<Row & {date?: string}>; date?: string}) ?? {}) : {}
  const kept = (earlier.rows ?? []).filter((r) => !rows.some((n) => n.case === r.case)).map((r) => ({...r, date: r.date ?? earlier.date}))
  const merged = [...kept, ...rows.map((r) => ({...r, date, engine}))].sort((a, b) => CASE_ORDER.indexOf(a.case) - CASE_ORDER.indexOf(b.case))
  writeFileSync(file, JSON.stringify({date, engine, rows: merged}, null, 2) + '\n')
  process.stdout.write(`engine ${engine}; medians of ${rounds} round${rounds === 1 ? '' : 's'} (who goes first alternates); written to bench/results/up.json\n`)
}

main().catch((error: unknown) => {
  process.stderr.write(`bench up failed: ${(error as Error).message}\n`)
  process.exitCode = 1
})
