// bench/up: `tta dev` against `docker compose up -d --wait` on the same files, in one run, cold
// (nothing created) and warm (all running, nothing changed), and against the zero-cost limit:
// the same containers started in dependency order by a minimal script that polls each one with
// the host-side probe its healthcheck corresponds to (HTTP GET, redis PING, pg startup) every
// 25 ms, never exec'ing anything inside. Compose gets its best settings: the files keep
// `healthcheck.start_interval` wherever the engine supports it (API >= 1.44), as users run them;
// the core case is `tta dev` as users run it (hot reload on). Also counted per cold run: the
// healthcheck execs run inside the containers (the engine's and tta's, from the engine's
// exec_start events) and the CPU they cost (count x each check's measured CPU), beside the
// containers' whole CPU at ready. Prints min/median/max and ratios; writes bench/results/up.json.
//
//   npm run bench            (needs the engine, Compose v2, the built CLI and the stand-ins: npm test provides them)
//   npx tsx bench/up.ts chain scale-100   (some cases)
//   npx tsx bench/up.ts --rounds 5 core   (5 rounds, the default; who goes first alternates)
import {spawnSync} from 'node:child_process'
import {cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

import {loadProject} from '../src/compose/load.js'
import type {LoadedProject, Service} from '../src/compose/model.js'
import {connectEngine, type EngineConnection} from '../src/docker/client.js'
import {jsonLines} from '../src/docker/json-lines.js'
import {execIn} from '../src/engine/container-io.js'
import {dependencyLevels} from '../src/engine/graph.js'
import {Label} from '../src/engine/labels.js'
import {healthcheckCommand, readinessFor} from '../src/engine/readiness.js'
import {containerSpec, networkName, START_INTERVAL_API} from '../src/engine/spec.js'
import {apiAtLeast} from '../src/docker/client.js'
import {reachFor} from '../src/probes/reach.js'
import {runProbe} from '../src/probes/run.js'
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


/**
 * The zero-cost limit: create+start each service once its dependencies are ready; ready when the
 * host-side probe of its healthcheck answers (every 25 ms, nothing run inside the container); a
 * healthcheck with no host-side equivalent is exec'd every 50 ms.
 */
async function limit(conn: EngineConnection, loaded: LoadedProject): Promise<number> {
  const {engine} = conn
  const {project} = loaded
  const reach = reachFor(conn.endpoint.host, process.env)
  const t0 = performance.now()
  for (const [key, network] of Object.entries(project.networks)) {
    await engine.networks.create({Name: networkName(project, key), Labels: {[Label.project]: project.name, ...network.labels}})
  }
  for (const volume of Object.values(project.volumes)) await engine.volumes.create({Name: volume.name, Labels: {[Label.project]: project.name}})
  const ready = new Map<string, Promise<void>>()
  const startOne = async (service: Service): Promise<void> => {
    await Promise.all(Object.keys(service.depends_on ?? {}).map((dep) => ready.get(dep)))
    const containerId = await engine.containers.create(containerSpec({loaded, apiVersion: conn.apiVersion}, service))
    await engine.containers.start(containerId)
    const readiness = readinessFor(service, undefined, reach)
    const deadline = Date.now() + 120_000
    while (Date.now() < deadline) {
      if (readiness.kind === 'running') return
      if (readiness.kind === 'port' || readiness.probe) {
        const probe = readiness.kind === 'port' ? readiness.probe : readiness.probe
        if (probe && (await runProbe(probe)).ok) return
        await new Promise((r) => setTimeout(r, 25))
      } else {
        if ((await execIn(engine, containerId, healthcheckCommand(readiness.test), 5_000)).exitCode === 0) return
        await new Promise((r) => setTimeout(r, 50))
      }
    }
    throw new Error(`limit: ${service.name} not ready in 120 s`)
  }
  for (const level of dependencyLevels(project, Object.keys(project.services))) {
    for (const name of level) ready.set(name, startOne(project.services[name] as Service))
  }
  await Promise.all(ready.values())
  return performance.now() - t0
}

/**
 * The bundled core stack as `tta dev` runs it (hot reload on), resolved by tta and written out for
 * both tools: images mapped to the stand-ins; start_interval kept where the engine supports it.
 */
function coreCase(apiVersion: string): Case {
  const workspace = mkdtempSync(join(tmpdir(), 'tta-bench-'))
  cpSync(join(repo, 'test/fixtures/workspace'), workspace, {recursive: true})
  const env: Record<string, string> = {}
  let port = 41000
  for (const name of ['REDIS', 'NEO4J_HTTP', 'NEO4J_BOLT', 'POSTGRES', 'ADMIN_API', 'CLINICAL_API', 'DEVELOPER_API', 'PATIENT_API', 'LANGGRAPH', 'FRONTEND']) env[`TTA_${name}_PORT`] = String(port++)
  const config = spawnSync(process.execPath, [tta, 'config', '--workspace', workspace, '--format', 'json'], {env: {...process.env, ...env}, encoding: 'utf8'})
  if (config.status !== 0) throw new Error(config.stderr)
  const model = JSON.parse(config.stdout) as {services: Record<string, {image?: string; healthcheck?: Record<string, unknown>}>; name?: string}
  const {images} = loadWorkspaceConfig(workspace)
  delete model.name
  for (const service of Object.values(model.services)) {
    if (service.image && images[service.image]) service.image = images[service.image]
    // Compose 2.26 refuses start_interval on an engine older than 25; where it can, it uses it.
    if (!apiAtLeast(apiVersion, START_INTERVAL_API)) delete service.healthcheck?.start_interval
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

/**
 * Two chained services, healthchecks every 10 s (bench/fixtures/chain). On an engine that has
 * start_interval (API 1.44+) both tools get it, as Compose's best setting: 1 s while starting.
 */
function chainCase(apiVersion: string): Case {
  const workspace = mkdtempSync(join(tmpdir(), 'tta-bench-'))
  let text = readFileSync(join(repo, 'bench/fixtures/chain/docker-compose.yml'), 'utf8')
  if (apiAtLeast(apiVersion, START_INTERVAL_API)) text = text.replace(/( +)retries: 3\n/g, '$1retries: 3\n$1start_period: 30s\n$1start_interval: 1s\n')
  const file = join(workspace, 'docker-compose.yml')
  writeFileSync(file, text)
  return {name: 'chain', file, workspace, env: {}}
}

type Sample = 'ttaCold' | 'ttaWarm' | 'composeCold' | 'composeWarm' | 'limit'

interface Row {
  case: string
  rounds: number
  /** Every run, for the spread; the figures below are their medians. */
  samples: Record<Sample, number[]>
  ttaCold: number
  ttaWarm: number
  composeCold: number
  composeWarm: number
  limit: number
  /** Per cold run: healthcheck execs inside the containers until ready (engine's and tta's). */
  execs?: {tta: number[]; compose: number[]}
  /** Per cold run: CPU seconds those execs cost (count x each check's measured CPU). */
  checkCpuS?: {tta: number[]; compose: number[]}
  /** Per cold run: CPU seconds of all the stack's containers at ready (startup included). */
  containerCpuS?: {tta: number[]; compose: number[]}
}

/** Counts exec_start events per container while a cold run goes, from the engine's event stream. */
async function countExecs(conn: EngineConnection, project: string): Promise<{stop: () => Promise<Map<string, number>>}> {
  const counts = new Map<string, number>()
  const stream = await conn.engine.events.follow({type: ['container'], label: [`${Label.project}=${project}`]})
  let endedAt: number | undefined
  const lines = jsonLines<{Action?: string; timeNano?: number; Actor?: {ID?: string; Attributes?: Record<string, string>}}>((e) => {
    // Only until the tool said ready: the engine's checks go on afterwards for either tool.
    if (!e.Action?.startsWith('exec_start') || (endedAt !== undefined && (e.timeNano ?? 0) / 1e6 > endedAt)) return
    const service = e.Actor?.Attributes?.[Label.service] ?? '?'
    counts.set(service, (counts.get(service) ?? 0) + 1)
  })
  stream.on('data', (chunk: Buffer) => lines.push(chunk))
  return {
    // The run was synchronous (spawnSync): its events wait in the socket until the loop turns.
    stop: async () => {
      endedAt = Date.now()
      await new Promise((r) => setTimeout(r, 300))
      stream.destroy()
      return counts
    },
  }
}

/** CPU seconds each container of the project has used so far, by service (cgroup usage via the stats API). */
async function containerCpu(conn: EngineConnection, project: string): Promise<Map<string, number>> {
  const list = await conn.engine.containers.list({all: false, filters: {label: [`${Label.project}=${project}`]}})
  const cpu = new Map<string, number>()
  await Promise.all(
    list.map(async (c) => {
      const stats = await conn.engine.containers.stats(c.Id)
      cpu.set(c.Labels[Label.service] ?? c.Id, (stats.cpu_stats?.cpu_usage?.total_usage ?? 0) / 1e9)
    }),
  )
  return cpu
}

/** The CPU one run of each service's healthcheck costs inside its container: 5 runs on the settled stack, averaged. */
async function checkCost(conn: EngineConnection, project: string, loaded: LoadedProject): Promise<Map<string, number>> {
  const cost = new Map<string, number>()
  const list = await conn.engine.containers.list({filters: {label: [`${Label.project}=${project}`]}})
  for (const c of list) {
    const service = loaded.project.services[c.Labels[Label.service] ?? '']
    const test = service?.healthcheck?.test
    if (!service || !test || service.healthcheck?.disable) continue
    const before = (await containerCpu(conn, project)).get(service.name) ?? 0
    for (let i = 0; i < 5; i++) await execIn(conn.engine, c.Id, healthcheckCommand(test), 5_000)
    const after = (await containerCpu(conn, project)).get(service.name) ?? 0
    cost.set(service.name, Math.max(0, after - before) / 5)
  }
  return cost
}

async function measure(c: Case, conn: EngineConnection, rounds: number): Promise<Row> {
  const p = (suffix: string): string => `bench-${c.name}-${suffix}`
  for (const s of ['tta', 'compose', 'limit']) removeProject(p(s))
  // Images for build: services exist after the first tta run; warm the build cache out of band.
  const ttaArgs = (project: string): string[] => [tta, 'dev', '--workspace', c.workspace, '--project-name', project, '-f', c.file]
  run(process.execPath, ttaArgs(p('warmup')), c.env)
  const loadedWarm = loadProject({files: [c.file], projectName: p('warmup'), environment: {...process.env, ...c.env, TTA_WORKSPACE: c.workspace}, envFiles: []})
  const costs = c.name === 'core' ? await checkCost(conn, p('warmup'), loadedWarm) : new Map<string, number>()
  removeProject(p('warmup'))

  const composeArgs = ['compose', '-p', p('compose'), '-f', c.file, 'up', '-d', '--wait']
  const up = (who: 'tta' | 'compose'): number => (who === 'tta' ? run(process.execPath, ttaArgs(p('tta')), c.env) : run('docker', composeArgs, c.env))
  const samples: Record<Sample, number[]> = {ttaCold: [], ttaWarm: [], composeCold: [], composeWarm: [], limit: []}
  const execs = {tta: [] as number[], compose: [] as number[]}
  const checkCpuS = {tta: [] as number[], compose: [] as number[]}
  const containerCpuS = {tta: [] as number[], compose: [] as number[]}
  const sum = (m: Map<string, number>): number => [...m.values()].reduce((a, b) => a + b, 0)
  for (let round = 0; round < rounds; round++) {
    // Who goes first alternates: whatever the engine carries from one run to the next hits both alike.
    const order = round % 2 === 0 ? (['tta', 'compose'] as const) : (['compose', 'tta'] as const)
    for (const who of order) {
      const counting = c.name === 'core' ? await countExecs(conn, p(who)) : undefined
      const cold = up(who)
      if (counting) {
        const counts = await counting.stop()
        execs[who].push(sum(counts))
        checkCpuS[who].push([...counts].reduce((total, [service, n]) => total + n * (costs.get(service) ?? 0), 0))
        containerCpuS[who].push(sum(await containerCpu(conn, p(who))))
      }
      const warm = up(who)
      samples[`${who}Cold`].push(cold)
      samples[`${who}Warm`].push(warm)
      // Same host ports for every contender: one stack at a time.
      removeProject(p(who))
    }
    const loaded = loadProject({files: [c.file], projectName: p('limit'), environment: {...process.env, ...c.env, TTA_WORKSPACE: c.workspace}, envFiles: []})
    samples.limit.push(await limit(conn, loaded))
    removeProject(p('limit'))
  }
  const cpu = c.name === 'core' ? {execs, checkCpuS, containerCpuS} : {}
  return {case: c.name, rounds, ttaCold: median(samples.ttaCold), ttaWarm: median(samples.ttaWarm), composeCold: median(samples.composeCold), composeWarm: median(samples.composeWarm), limit: median(samples.limit), samples, ...cpu}
}

const CASE_ORDER = ['chain', 'core', 'scale-10', 'scale-50', 'scale-100']

async function main(): Promise<void> {
  const args = process.argv.slice(2)
  const roundsAt = args.indexOf('--rounds')
  const rounds = roundsAt >= 0 ? Number(args[roundsAt + 1]) : 5
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error('--rounds takes a whole number of rounds, 1 or more')
  // Without --rounds (roundsAt -1) every argument is a case: the first one too.
  const wanted = args.filter((a, i) => a !== '--rounds' && (roundsAt < 0 || i !== roundsAt + 1))
  const conn = await connectEngine()
  const unknown = wanted.filter((w) => !CASE_ORDER.includes(w))
  if (unknown.length > 0) throw new Error(`no such case: ${unknown.join(', ')} (cases: ${CASE_ORDER.join(', ')})`)
  const cases = [() => chainCase(conn.apiVersion), () => coreCase(conn.apiVersion), scaleCase(10), scaleCase(50), scaleCase(100)].map((make) => make()).filter((c) => wanted.length === 0 || wanted.includes(c.name))
  const rows: Row[] = []
  for (const c of cases) {
    process.stderr.write(`bench up: ${c.name}…\n`)
    rows.push(await measure(c, conn, rounds))
  }
  const s = (ms: number): string => `${(ms / 1000).toFixed(2)}s`
  const x = (a: number, b: number): string => `${(a / b).toFixed(2)}x`
  // min / median / max of every sample: the spread is part of the figure.
  const spread = (values: number[]): string => `${s(Math.min(...values))} / ${s(median(values))} / ${s(Math.max(...values))}`
  printTable(
    ['case', 'who', 'cold min / median / max', 'warm min / median / max'],
    rows.flatMap((r) => [
      [r.case, 'tta dev', spread(r.samples.ttaCold), spread(r.samples.ttaWarm)],
      ['', 'compose up -d --wait', spread(r.samples.composeCold), spread(r.samples.composeWarm)],
      ['', 'zero-cost limit', spread(r.samples.limit), ''],
    ]),
  )
  process.stdout.write('\n')
  printTable(
    ['case', 'tta/compose cold', 'tta/limit cold', 'tta/compose warm'],
    rows.map((r) => [r.case, x(r.ttaCold, r.composeCold), x(r.ttaCold, r.limit), x(r.ttaWarm, r.composeWarm)]),
  )
  for (const r of rows) {
    if (!r.execs || !r.checkCpuS || !r.containerCpuS) continue
    const m = (v: number[]): string => median(v).toFixed(v === r.execs?.tta || v === r.execs?.compose ? 0 : 2)
    process.stdout.write(
      `\n${r.case}, cold, medians: healthcheck execs inside the containers until ready: tta ${m(r.execs.tta)}, compose ${m(r.execs.compose)}; ` +
        `their CPU: tta ${m(r.checkCpuS.tta)} s, compose ${m(r.checkCpuS.compose)} s; all containers' CPU at ready: tta ${m(r.containerCpuS.tta)} s, compose ${m(r.containerCpuS.compose)} s\n`,
    )
  }
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
