// bench/watch: `tta dev --watch` against `docker compose watch` on the same compose files (issue #19),
// in one run, on admin-api and what it depends on (redis, postgres) only:
//
//   edit → new response   write a new version string into services/admin-api/app/main.py, poll
//                         GET / every 25 ms until it answers with it; timed from the write
//   rebuild cycle         append a line to services/admin-api/requirements.txt (the Dockerfile
//                         copies it into the image), until a new container, from a new image, answers
//   bind mount (beside)   plain `tta dev admin-api` (hot-reload overlay: sources bind-mounted,
//                         uvicorn stat polling), edit → new response, no sync involved
//
// Each tool runs its own stack on its own copy of the fixture workspace (own project, ports, image
// names), all up for the whole run; per edit and per rebuild who goes first alternates. Compose gets
// its best settings: `up -d --wait admin-api` (only the services needed), then `watch --no-up`.
// Targets (#19): edit tta <= 1.0x Compose with a median <= 1 s; rebuild tta <= 1.0x Compose.
// Writes bench/results/watch.json. Everything made is removed by its project label, also on failure.
//
//   npx tsx bench/watch.ts               (needs engine 26, Compose v2, the built CLI and the stand-ins)
//   BENCH_EDITS=20 npx tsx bench/watch.ts
import {spawn, spawnSync, type ChildProcess} from 'node:child_process'
import {appendFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {request} from 'node:http'
import {cpus, loadavg, tmpdir} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

import {loadProject} from '../src/compose/load.js'
import {connectEngine, type EngineConnection} from '../src/docker/client.js'
import {demux} from '../src/engine/container-io.js'
import {detectBuilder} from '../src/engine/images.js'
import {Label} from '../src/engine/labels.js'
import {loadWorkspaceConfig} from '../src/workspace/config.js'
import {freePort, median, printTable, removeProject} from './lib.js'

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const tta = join(repo, 'bin', 'run.js')
const COMPOSE_FILES = ['compose/docker-compose.yml', 'compose/docker-compose.watch.yml'].map((f) => join(repo, f))
const SERVICE = 'admin-api'
const POLL_MS = 25
const EDIT_TIMEOUT_MS = 30_000
const REBUILD_TIMEOUT_MS = 300_000
/** After each measurement: the reload (or the tool's own bookkeeping) finishes before the next one starts. */
const SETTLE_MS = 1_500
const TARGETS = {editRatio: 1, editMedianMs: 1000, rebuildRatio: 1}

type Who = 'tta' | 'compose' | 'bind'

interface Stack {
  who: Who
  project: string
  workspace: string
  port: number
  env: Record<string, string>
  /** The long-running watcher (tta dev --watch, docker compose watch); the bind stack has none. */
  child?: ChildProcess
  /** The watcher's output lines, each with when it arrived. */
  lines: Array<{at: number; line: string}>
  /** The version string main.py answers with now. */
  version: string
}

interface Sample {
  ms: number
  /** Write → the watcher's line about this change (tta: "sync done", after the copy; compose: "Syncing", before it). */
  toolLineMs?: number
  /** The copy's own duration as tta reports it ("sync done in N ms"). */
  reportedSyncMs?: number
  /** Write → uvicorn's "StatReload detected" and → its new worker's "Application startup complete" (container log times). */
  reloadDetectedMs?: number
  reloadServingMs?: number
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
const elapsedSince = (t0: number): number => performance.now() - t0

/** GET on 127.0.0.1, no keep-alive (a reload drops connections); the body, or undefined when it did not answer 200. */
function get(port: number, path: string, timeoutMs = 1_000): Promise<string | undefined> {
  return new Promise((resolveBody) => {
    const req = request({host: '127.0.0.1', port, path, agent: false, timeout: timeoutMs}, (res) => {
      let body = ''
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk))
      res.on('end', () => resolveBody(res.statusCode === 200 ? body : undefined))
      res.on('error', () => resolveBody(undefined))
    })
    req.on('timeout', () => req.destroy())
    req.on('error', () => resolveBody(undefined))
    req.end()
  })
}

function sh(command: string, args: string[], env: Record<string, string>, timeoutMs = 300_000): string {
  const result = spawnSync(command, args, {env: {...process.env, ...env, NO_COLOR: '1'}, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs})
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${result.status ?? result.signal}:\n${(result.stderr ?? '').slice(-3000)}`)
  return result.stdout
}

/**
 * Starts a watcher in its own process group (Compose runs as a plugin child of the docker CLI: the
 * whole group has to go at the end) and records its output lines with their arrival times.
 */
function startWatcher(stack: Stack, command: string, args: string[]): void {
  const child = spawn(command, args, {env: {...process.env, ...stack.env, NO_COLOR: '1'}, stdio: ['ignore', 'pipe', 'pipe'], detached: true})
  let pending = ''
  const onData = (chunk: Buffer): void => {
    pending += chunk.toString('utf8')
    let eol: number
    while ((eol = pending.indexOf('\n')) >= 0) {
      // Compose clears the line (ESC[2K) before each message.
      // eslint-disable-next-line no-control-regex -- stripping terminal control sequences
      stack.lines.push({at: performance.now(), line: pending.slice(0, eol).replace(/\x1b\[[0-9;?]*[A-Za-z]|\r/g, '')})
      pending = pending.slice(eol + 1)
    }
  }
  child.stdout?.on('data', onData)
  child.stderr?.on('data', onData)
  stack.child = child
}

async function waitForLine(stack: Stack, pattern: RegExp, from: number, timeoutMs: number): Promise<{at: number; line: string}> {
  const deadline = performance.now() + timeoutMs
  while (performance.now() < deadline) {
    const found = stack.lines.slice(from).find((l) => pattern.test(l.line))
    if (found) return found
    if (stack.child && stack.child.exitCode !== null) break
    await sleep(50)
  }
  const tail = stack.lines.slice(-40).map((l) => l.line).join('\n')
  throw new Error(`${stack.who}: no output matching ${pattern} in ${timeoutMs} ms${stack.child?.exitCode != null ? ` (exited ${stack.child.exitCode})` : ''}; last lines:\n${tail}`)
}

/** A copy of the fixture workspace whose admin-api image carries requirements.txt, as the e2e watch test sets it up. */
function makeWorkspace(): string {
  const workspace = mkdtempSync(join(tmpdir(), 'tta-bench-watch-'))
  cpSync(join(repo, 'test/fixtures/workspace'), workspace, {recursive: true})
  const api = join(workspace, 'services', SERVICE)
  writeFileSync(join(api, 'requirements.txt'), 'fastapi\n')
  const dockerfile = join(api, 'Dockerfile')
  writeFileSync(dockerfile, readFileSync(dockerfile, 'utf8').replace('COPY app/ /app/app/', 'COPY requirements.txt /app/requirements.txt\nCOPY app/ /app/app/'))
  return workspace
}

async function makeStack(who: Who, stamp: string): Promise<Stack> {
  const project = `tta-bench-watch-${who}-${stamp}`
  const env: Record<string, string> = {
    // Own image names: the two tools never build over each other's image.
    TTA_IMAGE_PREFIX: project,
    // Fixed here for all three, so Compose (which does not read the workspace .env) gets the same values.
    TTA_REDIS_PASSWORD: 'bench-redis-pass',
    TTA_POSTGRES_PASSWORD: 'bench-postgres-pass',
    TTA_NEO4J_PASSWORD: 'bench-neo4j-pass',
    TTA_GRAFANA_ADMIN_PASSWORD: 'bench-grafana-pass',
  }
  for (const name of ['REDIS', 'NEO4J_HTTP', 'NEO4J_BOLT', 'POSTGRES', 'ADMIN_API', 'CLINICAL_API', 'DEVELOPER_API', 'PATIENT_API', 'LANGGRAPH', 'FRONTEND']) env[`TTA_${name}_PORT`] = String(await freePort())
  return {who, project, workspace: makeWorkspace(), port: Number(env.TTA_ADMIN_API_PORT), env, lines: [], version: '1'}
}

/**
 * What tta.config.yaml `images:` does for tta, as a Compose override: the fixture's upstream image
 * names mapped to the local stand-ins (no registry is reachable; Compose would try to pull).
 */
function composeImageOverride(stack: Stack, dir: string): string {
  const {images} = loadWorkspaceConfig(stack.workspace)
  const loaded = loadProject({files: COMPOSE_FILES, projectName: stack.project, environment: {...process.env, ...stack.env, TTA_WORKSPACE: stack.workspace}, envFiles: []})
  const services: Record<string, {image: string}> = {}
  for (const [name, service] of Object.entries(loaded.project.services)) {
    const mapped = !service.build && service.image ? images[service.image] : undefined
    if (mapped) services[name] = {image: mapped}
  }
  const file = join(dir, 'bench-images.json')
  writeFileSync(file, JSON.stringify({services}, null, 2))
  return file
}

async function adminContainer(conn: EngineConnection, project: string): Promise<{id: string; image: string} | undefined> {
  const list = await conn.engine.containers.list({filters: {label: [`${Label.project}=${project}`, `${Label.service}=${SERVICE}`], status: ['running']}})
  const first = list[0]
  return first ? {id: first.Id, image: first.ImageID} : undefined
}

/** How sources reach the container: 'bind' when /app/app is a bind mount, else 'copy'. */
async function sourcePath(conn: EngineConnection, project: string): Promise<'bind' | 'copy'> {
  const current = await adminContainer(conn, project)
  if (!current) throw new Error(`${project}: ${SERVICE} is not running`)
  const info = await conn.engine.containers.inspect(current.id)
  return info.Mounts.some((m) => m.Destination === '/app/app' && m.Type === 'bind') ? 'bind' : 'copy'
}

/** The line each watcher writes about an applied edit (see Sample.toolLineMs). */
const SYNC_LINE: Record<Who, RegExp | undefined> = {tta: /admin-api: sync done in/, compose: /Syncing "admin-api" after changes were detected/, bind: undefined}

/**
 * When uvicorn noticed the change and when its new worker was serving, from the container's log
 * timestamps (same host clock as `wall0`): splits an edit's time into the watcher's part and uvicorn's.
 */
async function reloadTimes(conn: EngineConnection, project: string, wall0: number): Promise<{reloadDetectedMs?: number; reloadServingMs?: number}> {
  const current = await adminContainer(conn, project)
  if (!current) return {}
  const raw = await conn.engine.containers.logs(current.id, {timestamps: true, since: Math.floor(wall0 / 1000) - 1})
  const {stdout, stderr} = demux(raw)
  const lines = `${stdout}\n${stderr}`
    .split('\n')
    .map((line) => ({at: Date.parse(line.slice(0, line.indexOf(' '))), text: line}))
    .filter((l) => Number.isFinite(l.at) && l.at >= wall0)
    .sort((a, b) => a.at - b.at)
  const detected = lines.find((l) => l.text.includes('StatReload detected'))
  const serving = detected && lines.find((l) => l.at >= detected.at && l.text.includes('Application startup complete'))
  return {reloadDetectedMs: detected && detected.at - wall0, reloadServingMs: serving && serving.at - wall0}
}

async function edit(stack: Stack, conn: EngineConnection, token: string): Promise<Sample> {
  const main = join(stack.workspace, 'services', SERVICE, 'app/main.py')
  const text = readFileSync(main, 'utf8')
  const next = text.replace(`"version": "${stack.version}"`, `"version": "${token}"`)
  if (next === text) throw new Error(`${stack.who}: main.py has no "version": "${stack.version}" to edit`)
  const mark = stack.lines.length
  const wall0 = Date.now()
  const t0 = performance.now()
  writeFileSync(main, next)
  while (!(await get(stack.port, '/'))?.includes(token)) {
    if (elapsedSince(t0) > EDIT_TIMEOUT_MS) throw new Error(`${stack.who}: the edit ${token} did not show in ${EDIT_TIMEOUT_MS} ms`)
    await sleep(POLL_MS)
  }
  const ms = elapsedSince(t0)
  stack.version = token
  await sleep(SETTLE_MS)
  const pattern = SYNC_LINE[stack.who]
  const line = pattern && stack.lines.slice(mark).find((l) => pattern.test(l.line))
  const reported = line && /sync done in (\d+) ms/.exec(line.line)?.[1]
  return {ms, toolLineMs: line ? line.at - t0 : undefined, reportedSyncMs: reported ? Number(reported) : undefined, ...(await reloadTimes(conn, stack.project, wall0))}
}

async function rebuild(stack: Stack, conn: EngineConnection, token: string): Promise<Sample> {
  const before = await adminContainer(conn, stack.project)
  if (!before) throw new Error(`${stack.who}: ${SERVICE} is not running before the rebuild`)
  const mark = stack.lines.length
  const t0 = performance.now()
  appendFileSync(join(stack.workspace, 'services', SERVICE, 'requirements.txt'), `# ${token}\n`)
  for (;;) {
    if (elapsedSince(t0) > REBUILD_TIMEOUT_MS) throw new Error(`${stack.who}: no recreated ${SERVICE} answering ${REBUILD_TIMEOUT_MS} ms after the requirements change`)
    const now = await adminContainer(conn, stack.project)
    // A new container is up only once the old one released the host port: what answers now is it.
    if (now && now.id !== before.id && (await get(stack.port, '/'))?.includes(stack.version)) {
      if (now.image === before.image) throw new Error(`${stack.who}: ${SERVICE} was recreated from the same image (no rebuild)`)
      break
    }
    await sleep(50)
  }
  const ms = elapsedSince(t0)
  // tta reports the rebuild done once its own readiness wait ends; let it, so the next round starts calm.
  if (stack.who === 'tta') await waitForLine(stack, /admin-api: rebuild (done|failed)/, mark, 120_000)
  await sleep(SETTLE_MS)
  const line = stack.lines.slice(mark).find((l) => /rebuild (done|failed)|successfully built/.test(l.line))
  return {ms, toolLineMs: line ? line.at - t0 : undefined}
}

/** Ends the watchers (their whole process groups) and removes every container, network, volume, image and workspace made. */
async function cleanup(stacks: Stack[]): Promise<void> {
  const signal = (stack: Stack, sig: NodeJS.Signals): void => {
    const pid = stack.child?.pid
    if (pid === undefined || stack.child?.exitCode !== null) return
    try {
      process.kill(-pid, sig)
    } catch {
      // already gone
    }
  }
  for (const stack of stacks) signal(stack, 'SIGTERM')
  const deadline = performance.now() + 10_000
  while (performance.now() < deadline && stacks.some((s) => s.child && s.child.exitCode === null && s.child.signalCode === null)) await sleep(100)
  for (const stack of stacks) if (stack.child?.signalCode === null) signal(stack, 'SIGKILL')
  for (const stack of stacks) {
    removeProject(stack.project)
    // Both tools label what they build with the project, the untagged images earlier rebuilds left included.
    const images = spawnSync('docker', ['images', '-aq', '--filter', `label=${Label.project}=${stack.project}`], {encoding: 'utf8'}).stdout.trim().split('\n').filter(Boolean)
    const named = spawnSync('docker', ['images', '-q', `${stack.project}/*`], {encoding: 'utf8'}).stdout.trim().split('\n').filter(Boolean)
    const all = [...new Set([...images, ...named])]
    if (all.length > 0) spawnSync('docker', ['rmi', '-f', ...all], {encoding: 'utf8'})
    rmSync(stack.workspace, {recursive: true, force: true})
  }
}

interface Stats {
  samples: number[]
  min: number
  median: number
  max: number
  /** Write → the watcher's own line about the change, where it writes one. */
  toolLineMs?: number[]
  /** tta's own figure for each copy into the container. */
  reportedSyncMs?: number[]
  /** Write → uvicorn noticed; write → its new worker serving (edits only). */
  reloadDetectedMs?: number[]
  reloadServingMs?: number[]
}

function stats(samples: Sample[]): Stats {
  const ms = samples.map((s) => s.ms)
  const defined = (values: Array<number | undefined>): number[] => values.filter((v): v is number => v !== undefined)
  const optional = (key: 'toolLineMs' | 'reportedSyncMs' | 'reloadDetectedMs' | 'reloadServingMs'): Partial<Stats> => {
    const values = defined(samples.map((s) => s[key]))
    return values.length > 0 ? {[key]: values} : {}
  }
  return {samples: ms, min: Math.min(...ms), median: median(ms), max: Math.max(...ms), ...optional('toolLineMs'), ...optional('reportedSyncMs'), ...optional('reloadDetectedMs'), ...optional('reloadServingMs')}
}

async function main(): Promise<void> {
  const edits = Number(process.env.BENCH_EDITS ?? 10)
  if (!Number.isInteger(edits) || edits < 10) throw new Error('BENCH_EDITS must be a whole number, 10 or more (issue #19 asks for at least 10)')
  const conn = await connectEngine()
  const composeVersion = sh('docker', ['compose', 'version', '--short'], {}).trim()
  if (!/^v?2\./.test(composeVersion)) throw new Error(`Compose v2 needed, found ${composeVersion} (scripts/get-compose-v2.sh installs it)`)
  const builder = await detectBuilder()
  const loadBefore = loadavg()
  const stamp = Date.now().toString(36)
  const stacks: Stack[] = []
  const scratch = mkdtempSync(join(tmpdir(), 'tta-bench-watch-files-'))
  let interrupted = false
  const onSignal = (): void => {
    if (interrupted) return
    interrupted = true
    process.stderr.write('bench watch: interrupted, cleaning up…\n')
    void cleanup(stacks).finally(() => process.exit(130))
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  const note = (text: string): void => void process.stderr.write(`bench watch: ${text}\n`)
  try {
    // Each one is listed for clean-up as soon as it exists.
    for (const who of ['tta', 'compose', 'bind'] as const) stacks.push(await makeStack(who, stamp))
    const [ttaStack, composeStack, bindStack] = stacks as [Stack, Stack, Stack]

    note('starting tta dev admin-api --watch…')
    startWatcher(ttaStack, process.execPath, [tta, 'dev', SERVICE, '--watch', '--workspace', ttaStack.workspace, '--project-name', ttaStack.project])
    await waitForLine(ttaStack, /watching admin-api/, 0, 300_000)

    note('starting docker compose up -d --wait admin-api, then docker compose watch --no-up admin-api…')
    const composeArgs = ['compose', '-p', composeStack.project, ...COMPOSE_FILES.flatMap((f) => ['-f', f]), '-f', composeImageOverride(composeStack, scratch)]
    composeStack.env.TTA_WORKSPACE = composeStack.workspace
    sh('docker', [...composeArgs, 'up', '-d', '--wait', SERVICE], composeStack.env)
    startWatcher(composeStack, 'docker', [...composeArgs, 'watch', '--no-up', SERVICE])
    await waitForLine(composeStack, /Watch enabled/, 0, 60_000)

    note('starting tta dev admin-api (hot reload: bind mount)…')
    sh(process.execPath, [tta, 'dev', SERVICE, '--workspace', bindStack.workspace, '--project-name', bindStack.project], bindStack.env)

    // The code path each one measures, checked rather than assumed.
    const paths = {tta: await sourcePath(conn, ttaStack.project), compose: await sourcePath(conn, composeStack.project), bind: await sourcePath(conn, bindStack.project)}
    if (paths.tta !== 'copy' || paths.compose !== 'copy' || paths.bind !== 'bind') throw new Error(`unexpected source paths: ${JSON.stringify(paths)}`)
    for (const stack of stacks) if (!(await get(stack.port, '/'))?.includes('"version":"1"')) throw new Error(`${stack.who}: ${SERVICE} does not answer version 1`)

    const editSamples: Record<Who, Sample[]> = {tta: [], compose: [], bind: []}
    const editOrder: string[] = []
    for (let i = 0; i < edits; i++) {
      // Who goes first alternates; the bind-mount figure (no ratio taken) comes last each time.
      const order: Who[] = i % 2 === 0 ? ['tta', 'compose', 'bind'] : ['compose', 'tta', 'bind']
      editOrder.push(order.join(','))
      for (const who of order) {
        const stack = stacks.find((s) => s.who === who) as Stack
        editSamples[who].push(await edit(stack, conn, `bench-${who}-${i + 1}-${stamp}`))
      }
      const last = (who: Who): string => `${((editSamples[who].at(-1)?.ms ?? 0) / 1000).toFixed(2)} s`
      note(`edit ${i + 1}/${edits}: tta ${last('tta')}, compose ${last('compose')}, bind mount ${last('bind')}`)
    }

    const rebuildSamples: Record<'tta' | 'compose', Sample[]> = {tta: [], compose: []}
    const rebuildOrder: string[] = []
    for (let i = 0; i < edits; i++) {
      const order: Array<'tta' | 'compose'> = i % 2 === 0 ? ['compose', 'tta'] : ['tta', 'compose']
      rebuildOrder.push(order.join(','))
      for (const who of order) rebuildSamples[who].push(await rebuild(who === 'tta' ? ttaStack : composeStack, conn, `bench-rebuild-${who}-${i + 1}-${stamp}`))
      note(`rebuild ${i + 1}/${edits}: tta ${((rebuildSamples.tta.at(-1)?.ms ?? 0) / 1000).toFixed(2)} s, compose ${((rebuildSamples.compose.at(-1)?.ms ?? 0) / 1000).toFixed(2)} s`)
    }

    const edited = {tta: stats(editSamples.tta), compose: stats(editSamples.compose), bind: stats(editSamples.bind)}
    const rebuilt = {tta: stats(rebuildSamples.tta), compose: stats(rebuildSamples.compose)}
    const editRatio = edited.tta.median / edited.compose.median
    const rebuildRatio = rebuilt.tta.median / rebuilt.compose.median
    const s = (ms: number): string => `${(ms / 1000).toFixed(2)} s`
    const spread = (st: Stats): string => `${s(st.min)} / ${s(st.median)} / ${s(st.max)}`
    const toolLine = (st: Stats): string => (st.toolLineMs ? s(median(st.toolLineMs)) : '-')
    printTable(
      ['measure', 'who', 'min / median / max', 'write → watcher line (median)'],
      [
        ['edit → new response', 'tta dev --watch (sync)', spread(edited.tta), toolLine(edited.tta)],
        ['', 'docker compose watch (sync)', spread(edited.compose), toolLine(edited.compose)],
        ['', 'tta dev (bind mount)', spread(edited.bind), ''],
        ['rebuild → recreated answering', 'tta dev --watch', spread(rebuilt.tta), toolLine(rebuilt.tta)],
        ['', 'docker compose watch', spread(rebuilt.compose), toolLine(rebuilt.compose)],
      ],
    )
    const loadAfter = loadavg()
    const verdict = (ok: boolean): string => (ok ? 'met' : 'MISSED')
    process.stdout.write(
      `\nedit: tta/compose ${editRatio.toFixed(2)}x (target <= ${TARGETS.editRatio}x: ${verdict(editRatio <= TARGETS.editRatio)}), tta median ${s(edited.tta.median)} (target <= 1 s: ${verdict(edited.tta.median <= TARGETS.editMedianMs)})\n` +
        `rebuild: tta/compose ${rebuildRatio.toFixed(2)}x (target <= ${TARGETS.rebuildRatio}x: ${verdict(rebuildRatio <= TARGETS.rebuildRatio)})\n`,
    )
    // Where an edit's time goes, medians from the write: the watcher's line (tta's comes after the
    // copy, Compose's before it), uvicorn noticing (it polls every 0.25 s), its new worker serving.
    const at = (values: number[] | undefined): string => (values && values.length > 0 ? s(median(values)) : '-')
    process.stdout.write('\n')
    printTable(
      ['edit, medians from the write', 'watcher line', 'uvicorn noticed', 'new worker serving', 'new response seen'],
      (['tta', 'compose', 'bind'] as const).map((who) => [who === 'bind' ? 'tta dev (bind mount)' : who === 'tta' ? 'tta dev --watch' : 'docker compose watch', at(edited[who].toolLineMs), at(edited[who].reloadDetectedMs), at(edited[who].reloadServingMs), s(edited[who].median)]),
    )
    if (edited.tta.reportedSyncMs) process.stdout.write(`tta's copy into the container itself (its "sync done in N ms"): median ${median(edited.tta.reportedSyncMs).toFixed(0)} ms\n`)
    const engine = `${conn.version} (API ${conn.apiVersion})`
    const result = {
      date: new Date().toISOString(),
      engine,
      compose: composeVersion,
      machine: {cores: cpus().length, loadavgBefore: loadBefore.map((l) => Number(l.toFixed(2))), loadavgAfter: loadAfter.map((l) => Number(l.toFixed(2)))},
      edits,
      pollMs: POLL_MS,
      measured: {
        tta: `tta dev ${SERVICE} --watch, off a terminal (plain lines): inotify, 50 ms debounce, tar upload through the engine API; rebuilds with the docker CLI's ${builder} builder, then the service alone converged`,
        compose: `docker compose up -d --wait ${SERVICE}, then docker compose watch --no-up ${SERVICE} (Compose ${composeVersion}): its own sync into the container, BuildKit build on rebuild`,
        bind: `tta dev ${SERVICE} with the hot-reload overlay: app/ bind-mounted, uvicorn --reload stat polling`,
        files: 'compose/docker-compose.yml + compose/docker-compose.watch.yml for both watchers (Compose also gets the fixture images: map as an override)',
      },
      order: {edit: editOrder, rebuild: rebuildOrder},
      edit: {...edited, ratio: editRatio},
      rebuild: {...rebuilt, ratio: rebuildRatio},
      targets: TARGETS,
    }
    mkdirSync(join(repo, 'bench/results'), {recursive: true})
    writeFileSync(join(repo, 'bench/results/watch.json'), JSON.stringify(result, null, 2) + '\n')
    process.stdout.write(`engine ${engine}, Compose ${composeVersion}; ${edits} edits and ${edits} rebuilds each, who goes first alternating; load average ${loadBefore[0]?.toFixed(2)} before, ${loadAfter[0]?.toFixed(2)} after on ${cpus().length} cores; written to bench/results/watch.json\n`)
  } finally {
    if (!interrupted) await cleanup(stacks)
    rmSync(scratch, {recursive: true, force: true})
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench watch failed: ${(error as Error).message}\n`)
  process.exitCode = 1
})
