// Shared helpers for the e2e suite: run the built CLI, talk to the Docker CLI, isolate each test's
// stack (project name, host ports, workspace copy) and clean it up. Every wait here is bounded.
import {spawn} from 'node:child_process'
import {cpSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {createConnection, createServer} from 'node:net'
import {tmpdir} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
export const fixtureWorkspace = join(repoRoot, 'test/fixtures/workspace')
export const ttaBin = join(repoRoot, 'bin/run.js')

/** Stand-in images built by scripts/standins.sh; the fixture workspace maps the upstream images to them. */
export const STANDIN_NAMES = [
  'redis',
  'postgres',
  'neo4j',
  'python',
  'prometheus',
  'alertmanager',
  'grafana',
  'loki',
  'promtail',
  'node-exporter',
  'cadvisor',
  'blackbox-exporter',
  'postgres-exporter',
  'redis-exporter',
  'registry',
  'frontend',
] as const
export type StandinName = (typeof STANDIN_NAMES)[number]
export const standinImage = (name: StandinName): string => `tta-standin/${name}:local`

export const PROJECT_LABEL = 'com.docker.compose.project'

export interface RunResult {
  /** Exit code; null when the process was killed by a signal (e.g. on timeout). */
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  timedOut: boolean
  durationMs: number
}

export interface RunOptions {
  cwd?: string
  /** Added to (and overriding) the test process's environment. */
  env?: Record<string, string | undefined>
  timeoutMs?: number
  /** Written to stdin, which is then closed; without it stdin is /dev/null (no prompt can hang). */
  input?: string
}

/** Runs a program without a shell, collecting output; on timeout SIGTERM, then SIGKILL 5 s later. */
export function run(file: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = opts.timeoutMs ?? 120_000
  const started = Date.now()
  return new Promise((resolvePromise, reject) => {
    const child = spawn(file, args, {
      cwd: opts.cwd,
      env: {...process.env, ...opts.env},
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    let timedOut = false
    // stdout/stderr are pipes (stdio above), so never null.
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    if (opts.input !== undefined) child.stdin?.end(opts.input)
    let killTimer: NodeJS.Timeout | undefined
    const timer = setTimeout(() => {
      timedOut = true
      child.kill('SIGTERM')
      killTimer = setTimeout(() => child.kill('SIGKILL'), 5_000)
    }, timeoutMs)
    child.on('error', (err) => {
      clearTimeout(timer)
      clearTimeout(killTimer)
      reject(err)
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      clearTimeout(killTimer)
      resolvePromise({code, signal, stdout, stderr, timedOut, durationMs: Date.now() - started})
    })
  })
}

/**
 * Runs the built CLI (`node bin/run.js ARGS`) as a user would. Colours are off unless the caller's
 * env says otherwise. Requires `npm run build` (scripts/test.sh does it).
 */
export function runTta(args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return run(process.execPath, [ttaBin, ...args], {...opts, env: {NO_COLOR: '1', ...opts.env}})
}

/** Runs the docker CLI; throws with its stderr when it exits non-zero (unless allowFailure). */
export async function docker(
  args: readonly string[],
  opts: RunOptions & {allowFailure?: boolean} = {},
): Promise<RunResult> {
  const result = await run('docker', args, {timeoutMs: 60_000, ...opts})
  if (result.code !== 0 && !opts.allowFailure) {
    const why = result.timedOut ? `timed out after ${opts.timeoutMs ?? 60_000} ms` : `exit ${result.code}`
    throw new Error(`docker ${args.join(' ')}: ${why}\n${result.stderr.trim()}`)
  }
  return result
}

/** `docker exec` in a container, without a TTY; returns the result whatever the exit code. */
export function dockerExec(container: string, command: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return run('docker', ['exec', ...(opts.input === undefined ? [] : ['-i']), container, ...command], {
    timeoutMs: 30_000,
    ...opts,
  })
}

let projectCounter = 0

/** A project name no other test (or earlier run) uses: lowercase, Compose-valid. */
export function uniqueProject(prefix = 'e2e'): string {
  const clean = prefix.toLowerCase().replace(/[^a-z0-9_-]+/g, '-').replace(/^[^a-z0-9]+/, '') || 'e2e'
  projectCounter += 1
  const stamp = `${process.pid.toString(36)}${Date.now().toString(36).slice(-5)}${projectCounter}`
  return `tta-${clean}-${stamp}`
}

const lines = (text: string): string[] =>
  text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')

export interface CleanupReport {
  containers: string[]
  networks: string[]
  volumes: string[]
  images: string[]
}

/**
 * Removes every container (with its anonymous volumes), network and volume labelled
 * com.docker.compose.project=<name>; with `images`, also images carrying that label. Tries
 * everything, then throws if anything could not be removed.
 */
export async function cleanupProject(name: string, opts: {images?: boolean} = {}): Promise<CleanupReport> {
  const filter = ['--filter', `label=${PROJECT_LABEL}=${name}`]
  const report: CleanupReport = {containers: [], networks: [], volumes: [], images: []}
  const failures: string[] = []
  const attempt = async (what: string, fn: () => Promise<void>): Promise<void> => {
    try {
      await fn()
    } catch (err) {
      failures.push(`${what}: ${err instanceof Error ? err.message : String(err)}`)
    }
  }
  await attempt('containers', async () => {
    report.containers = lines((await docker(['ps', '-aq', ...filter])).stdout)
    if (report.containers.length > 0) await docker(['rm', '-f', '-v', ...report.containers], {timeoutMs: 120_000})
  })
  await attempt('networks', async () => {
    report.networks = lines((await docker(['network', 'ls', '-q', ...filter])).stdout)
    if (report.networks.length > 0) await docker(['network', 'rm', ...report.networks])
  })
  await attempt('volumes', async () => {
    report.volumes = lines((await docker(['volume', 'ls', '-q', ...filter])).stdout)
    if (report.volumes.length > 0) await docker(['volume', 'rm', '-f', ...report.volumes])
  })
  if (opts.images) {
    await attempt('images', async () => {
      report.images = lines((await docker(['image', 'ls', '-q', ...filter])).stdout)
      if (report.images.length > 0) await docker(['rmi', '-f', ...new Set(report.images)])
    })
  }
  if (failures.length > 0) throw new Error(`cleanupProject(${name}) incomplete:\n${failures.join('\n')}`)
  return report
}

const handedOut = new Set<number>()

/** A TCP port free on 127.0.0.1 right now, never the same one twice in this process. */
export async function freePort(): Promise<number> {
  for (let tries = 0; tries < 50; tries++) {
    const port = await new Promise<number>((resolvePromise, reject) => {
      const server = createServer()
      server.unref()
      server.on('error', reject)
      server.listen(0, '127.0.0.1', () => {
        const address = server.address()
        const value = typeof address === 'object' && address !== null ? address.port : 0
        server.close(() => resolvePromise(value))
      })
    })
    if (port > 0 && !handedOut.has(port)) {
      handedOut.add(port)
      return port
    }
  }
  throw new Error('freePort: no free port found in 50 tries')
}

/** Copies the fixture workspace to a fresh temp dir (tests may edit it) and returns its path. */
export function copyWorkspace(opts: {dotenv?: Record<string, string>} = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'tta-ws-'))
  cpSync(fixtureWorkspace, dir, {recursive: true})
  if (opts.dotenv) writeDotEnv(dir, opts.dotenv)
  return dir
}

/** Writes `<dir>/.env` (KEY=value lines; values are single-quoted so nothing in them is interpolated). */
export function writeDotEnv(dir: string, vars: Record<string, string>): void {
  const body = Object.entries(vars)
    .map(([key, value]) => {
      if (value.includes("'") || value.includes('\n')) throw new Error(`writeDotEnv: ${key} has a quote or newline`)
      return `${key}='${value}'`
    })
    .join('\n')
  writeFileSync(join(dir, '.env'), `${body}\n`)
}

/** Removes a copied workspace (best effort: containers may have left root-owned files we still own as root). */
export function removeWorkspace(dir: string): void {
  rmSync(dir, {recursive: true, force: true, maxRetries: 3})
}

export interface WaitOptions {
  timeoutMs?: number
  intervalMs?: number
  /** Named in the timeout error. */
  description?: string
}

/**
 * Calls fn until it returns something other than undefined/false/null, bounded in time; errors
 * thrown by fn count as "not yet" and the last one is reported on timeout.
 */
export async function waitFor<T>(
  fn: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  opts: WaitOptions = {},
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 30_000
  const intervalMs = opts.intervalMs ?? 200
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  let attempts = 0
  for (;;) {
    attempts += 1
    try {
      const value = await fn()
      if (value !== undefined && value !== null && value !== false) return value
    } catch (err) {
      lastError = err
    }
    if (Date.now() + intervalMs > deadline) break
    await new Promise((r) => setTimeout(r, intervalMs))
  }
  const last = lastError instanceof Error ? `; last error: ${lastError.message}` : ''
  throw new Error(`waitFor(${opts.description ?? 'condition'}) timed out after ${timeoutMs} ms (${attempts} tries)${last}`)
}

/** GET a URL with a timeout; returns status and body text. */
export async function httpGet(url: string, timeoutMs = 5_000): Promise<{status: number; body: string}> {
  const response = await fetch(url, {signal: AbortSignal.timeout(timeoutMs)})
  return {status: response.status, body: await response.text()}
}

/**
 * Opens a TCP connection to 127.0.0.1:port, writes `payload`, and collects bytes until `done(data)`
 * says enough arrived, the peer closes, or timeoutMs passes (then it rejects).
 */
export function tcpExchange(
  port: number,
  payload: Buffer | string,
  done: (data: Buffer) => boolean,
  timeoutMs = 5_000,
): Promise<Buffer> {
  return new Promise((resolvePromise, reject) => {
    const socket = createConnection({host: '127.0.0.1', port})
    let data = Buffer.alloc(0)
    let settled = false
    const finish = (err?: Error): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.destroy()
      if (err) reject(err)
      else resolvePromise(data)
    }
    const timer = setTimeout(
      () => finish(new Error(`tcpExchange :${port}: no complete answer in ${timeoutMs} ms (got ${data.length} bytes)`)),
      timeoutMs,
    )
    socket.on('connect', () => socket.write(payload))
    socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk])
      if (done(data)) finish()
    })
    socket.on('end', () => finish())
    socket.on('error', (err) => finish(err))
  })
}

/** A RESP (redis protocol) reply: simple string, error, integer, bulk string, array, or null. */
export type RespValue = string | number | null | RespError | RespValue[]
export class RespError {
  constructor(readonly message: string) {}
}

/** Parses one RESP value at `offset`; undefined when the buffer does not hold all of it yet. */
export function parseResp(buf: Buffer, offset = 0): {value: RespValue; next: number} | undefined {
  const eol = buf.indexOf('\r\n', offset)
  if (eol < 0) return undefined
  const type = String.fromCharCode(buf[offset] ?? 0)
  const line = buf.toString('utf8', offset + 1, eol)
  const after = eol + 2
  switch (type) {
    case '+':
      return {value: line, next: after}
    case '-':
      return {value: new RespError(line), next: after}
    case ':':
      return {value: Number(line), next: after}
    case '$': {
      const len = Number(line)
      if (len < 0) return {value: null, next: after}
      if (buf.length < after + len + 2) return undefined
      return {value: buf.toString('utf8', after, after + len), next: after + len + 2}
    }
    case '*': {
      const count = Number(line)
      if (count < 0) return {value: null, next: after}
      const items: RespValue[] = []
      let next = after
      for (let i = 0; i < count; i++) {
        const item = parseResp(buf, next)
        if (!item) return undefined
        items.push(item.value)
        next = item.next
      }
      return {value: items, next}
    }
    default:
      throw new Error(`parseResp: unexpected type byte ${JSON.stringify(type)}`)
  }
}

const encodeResp = (command: readonly string[]): string =>
  `*${command.length}\r\n${command.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join('')}`

/** Sends redis commands over one raw TCP connection to 127.0.0.1:port; resolves with one reply each. */
export async function redisCommands(port: number, commands: readonly (readonly string[])[], timeoutMs = 5_000): Promise<RespValue[]> {
  const replies = (data: Buffer): RespValue[] | undefined => {
    const out: RespValue[] = []
    let offset = 0
    while (out.length < commands.length) {
      const parsed = parseResp(data, offset)
      if (!parsed) return undefined
      out.push(parsed.value)
      offset = parsed.next
    }
    return out
  }
  const data = await tcpExchange(port, commands.map(encodeResp).join(''), (d) => replies(d) !== undefined, timeoutMs)
  const result = replies(data)
  if (!result) throw new Error(`redisCommands :${port}: connection closed after ${data.length} bytes, replies incomplete`)
  return result
}

/** Every host-port variable of the bundled core stack, and of the monitoring stack. */
export const CORE_PORT_VARS = ['REDIS', 'NEO4J_HTTP', 'NEO4J_BOLT', 'POSTGRES', 'ADMIN_API', 'CLINICAL_API', 'DEVELOPER_API', 'PATIENT_API', 'LANGGRAPH', 'FRONTEND'].map((n) => `TTA_${n}_PORT`)
export const MONITORING_PORT_VARS = ['PROMETHEUS', 'ALERTMANAGER', 'GRAFANA', 'LOKI', 'NODE_EXPORTER', 'CADVISOR', 'BLACKBOX', 'POSTGRES_EXPORTER', 'REDIS_EXPORTER'].map((n) => `TTA_${n}_PORT`)
export const ALL_PORT_VARS = [...CORE_PORT_VARS, ...MONITORING_PORT_VARS]

/** An environment giving each port variable its own free port, so stacks never collide. */
export async function freePortEnv(vars: readonly string[] = ALL_PORT_VARS): Promise<Record<string, string>> {
  const env: Record<string, string> = {}
  for (const name of vars) env[name] = String(await freePort())
  return env
}
