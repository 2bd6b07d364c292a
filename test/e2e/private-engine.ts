// A private Docker engine for fault tests that must kill the engine: the machine's main dockerd is
// shared with every other test, so it is never touched. This one has its own data root, exec root
// (and so its own managed containerd), pidfile and socket under one temp dir, and its own network
// namespace (`unshare --net`): a dockerd that restarts deletes the interface named docker0, which in
// a shared namespace is the main engine's (seen here: every `docker run` on the default network
// failed after it). Its containers are reachable through the API only (exec healthchecks).
// Every wait is bounded; destroy() takes everything down whatever state the daemon is in.
import {spawn, type ChildProcess} from 'node:child_process'
import {closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {run, waitFor, type RunOptions, type RunResult} from './helpers.js'

/** The private engine's address pool (10.213.0.0/16): no other engine here uses it. */
const POOL_PREFIX = '10.213.'

export interface PrivateEngineOptions {
  /**
   * Run in this named network namespace (made by the caller, `ip netns add`) instead of a fresh
   * unnamed one, also listening on TCP at `tcp` (e.g. tcp://0.0.0.0:2375): an engine the test
   * reaches only over the network, as a remote one.
   */
  netns?: string
  tcp?: string
  /** A dockerd other than the one on PATH (e.g. Engine 26's), with its directory first on PATH. */
  dockerd?: string
}

export class PrivateEngine {
  readonly dir: string
  readonly socket: string
  /** DOCKER_HOST pointing at this engine. */
  readonly host: string
  private child: ChildProcess | undefined
  private exited: Promise<void> = Promise.resolve()

  private constructor(private readonly options: PrivateEngineOptions = {}) {
    this.dir = mkdtempSync(join(tmpdir(), 'tta-pd-'))
    this.socket = join(this.dir, 'docker.sock')
    this.host = `unix://${this.socket}`
    writeFileSync(join(this.dir, 'daemon.json'), '{}\n')
  }

  /** Creates and starts a private engine; on failure it is torn down before the error is thrown. */
  static async create(options: PrivateEngineOptions = {}): Promise<PrivateEngine> {
    const engine = new PrivateEngine(options)
    try {
      await engine.start()
    } catch (error) {
      await engine.destroy()
      throw error
    }
    return engine
  }

  get pid(): number | undefined {
    return this.child?.exitCode === null && this.child.signalCode === null ? this.child.pid : undefined
  }

  /** Starts dockerd (again) on the same directories and waits until it answers (60 s at most). */
  async start(): Promise<void> {
    if (this.pid) throw new Error('PrivateEngine.start: already running')
    await this.clearStaleContainerd()
    const log = openSync(join(this.dir, 'dockerd.log'), 'a')
    // Detached, stdin closed, output to a file: the daemon holds none of the test runner's pipes.
    // unshare execs dockerd: the child's pid is the daemon's.
    const {netns, tcp, dockerd = 'dockerd'} = this.options
    const binDir = dockerd.includes('/') ? dockerd.slice(0, dockerd.lastIndexOf('/')) : undefined
    // nsenter joins the network namespace only (`ip netns exec` also remounts /sys, hiding the cgroup mounts dockerd needs).
    const prefix = netns ? ['nsenter', `--net=/run/netns/${netns}`, '--'] : ['unshare', '--net', '--']
    const child = spawn(
      prefix[0] as string,
      [
        ...prefix.slice(1),
        dockerd,
        ...(tcp ? ['--host', tcp] : []),
        '--config-file', join(this.dir, 'daemon.json'),
        '--data-root', join(this.dir, 'data'),
        '--exec-root', join(this.dir, 'exec'),
        '--pidfile', join(this.dir, 'docker.pid'),
        '--host', this.host,
        '--bridge=none',
        '--iptables=false',
        '--ip-masq=false',
        '--default-address-pool', `base=${POOL_PREFIX}0.0/16,size=24`,
        '--storage-driver', 'overlay2',
      ],
      {detached: true, stdio: ['ignore', log, log], env: binDir ? {...process.env, PATH: `${binDir}:${binDir.replace(/sbin$/, 'bin')}:${process.env.PATH ?? ''}`} : process.env},
    )
    closeSync(log)
    child.unref()
    this.child = child
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()))
    await waitFor(
      async () => {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`dockerd exited (${child.exitCode ?? child.signalCode}); log:\n${this.logTail()}`)
        return (await this.docker(['version', '--format', '{{.Server.Version}}'], {timeoutMs: 5_000})).code === 0
      },
      {timeoutMs: 60_000, intervalMs: 200, description: `private dockerd at ${this.socket}`},
    )
  }

  /** SIGKILLs dockerd, as a crash would (its containerd dies with it; container shims stay). */
  async kill(): Promise<void> {
    const pid = this.pid
    if (!pid) return
    process.kill(pid, 'SIGKILL')
    await this.waitExit(10_000)
  }

  /** The docker CLI against this engine; returns the result whatever the exit code. */
  docker(args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    return run('docker', args, {timeoutMs: 60_000, ...opts, env: {...opts.env, DOCKER_HOST: this.host, DOCKER_CONTEXT: undefined}})
  }

  /** Copies images from the main engine into this one (`docker save | docker load`, no shell). */
  async loadImages(images: readonly string[]): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const save = spawn('docker', ['save', ...images], {stdio: ['ignore', 'pipe', 'pipe']})
      const load = spawn('docker', ['load', '--quiet'], {env: {...process.env, DOCKER_HOST: this.host}, stdio: ['pipe', 'ignore', 'pipe']})
      let errors = ''
      save.stderr.on('data', (c: Buffer) => (errors += c.toString()))
      load.stderr.on('data', (c: Buffer) => (errors += c.toString()))
      save.stdout.pipe(load.stdin)
      const timer = setTimeout(() => {
        save.kill('SIGKILL')
        load.kill('SIGKILL')
      }, 120_000)
      let saveCode: number | null = null
      save.on('close', (code) => (saveCode = code))
      load.on('close', (code) => {
        clearTimeout(timer)
        if (code === 0 && saveCode === 0) resolve()
        else reject(new Error(`docker save | docker load failed (save ${saveCode}, load ${code}): ${errors.trim()}`))
      })
    })
  }

  /**
   * Takes everything down: removes containers and networks while the daemon answers, stops it
   * (SIGTERM, then SIGKILL), kills the container shims it left, unmounts what it mounted under
   * its directory and deletes the directory (its network namespace goes with its processes). Never throws; returns what went wrong.
   */
  async destroy(): Promise<string[]> {
    const problems: string[] = []
    const note = (what: string, error: unknown): void => {
      problems.push(`${what}: ${error instanceof Error ? error.message : String(error)}`)
    }
    try {
      if (this.pid) {
        const ids = (await this.docker(['ps', '-aq'], {timeoutMs: 15_000})).stdout.trim().split('\n').filter(Boolean)
        if (ids.length > 0) await this.docker(['rm', '-f', ...ids], {timeoutMs: 60_000})
        await this.docker(['network', 'prune', '-f'], {timeoutMs: 30_000})
        process.kill(this.pid, 'SIGTERM')
        if (!(await this.waitExit(20_000)) && this.pid) {
          process.kill(this.pid, 'SIGKILL')
          await this.waitExit(10_000)
        }
      }
    } catch (error) {
      note('stopping dockerd', error)
      if (this.pid) process.kill(this.pid, 'SIGKILL')
      await this.waitExit(10_000)
    }
    // Container shims (and their containers' processes) outlive a killed dockerd: end the ones of this engine.
    for (const pid of this.processesUsingDir()) {
      try {
        process.kill(pid, 'SIGKILL')
      } catch (error) {
        note(`kill ${pid}`, error)
      }
    }
    await new Promise((r) => setTimeout(r, 300))
    for (const mount of this.mountsUnderDir()) {
      const result = await run('umount', [mount], {timeoutMs: 15_000})
      if (result.code !== 0) {
        const lazy = await run('umount', ['-l', mount], {timeoutMs: 15_000})
        if (lazy.code !== 0) note(`umount ${mount}`, lazy.stderr.trim())
      }
    }
    try {
      rmSync(this.dir, {recursive: true, force: true, maxRetries: 3})
    } catch (error) {
      note(`rm -rf ${this.dir}`, error)
    }
    return problems
  }

  /** The end of dockerd's log, for failure messages. */
  logTail(lines = 20): string {
    try {
      return readFileSync(join(this.dir, 'dockerd.log'), 'utf8').trim().split('\n').slice(-lines).join('\n')
    } catch {
      return '(no log)'
    }
  }

  /**
   * dockerd reuses a containerd whose pid is in its pidfile and still "alive": after a kill that
   * is often a zombie not yet reaped by pid 1, and dockerd then waits for its socket until it
   * gives up. A dead or zombie one's pidfile goes; a live one (ours: it runs on our directory) is killed first.
   */
  private async clearStaleContainerd(): Promise<void> {
    const pidFile = join(this.dir, 'exec', 'containerd', 'containerd.pid')
    if (!existsSync(pidFile)) return
    const pid = Number(readFileSync(pidFile, 'utf8').trim())
    const state = (): string => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
        return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] ?? 'gone'
      } catch {
        return 'gone'
      }
    }
    if (pid > 0 && state() !== 'gone' && state() !== 'Z' && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(this.dir)) {
      process.kill(pid, 'SIGKILL')
      await waitFor(() => state() === 'gone' || state() === 'Z', {timeoutMs: 10_000, intervalMs: 100, description: `containerd ${pid} to die`})
    }
    rmSync(pidFile, {force: true})
  }

  private async waitExit(timeoutMs: number): Promise<boolean> {
    if (!this.pid) return true
    let timer: NodeJS.Timeout | undefined
    const gone = await Promise.race([this.exited.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timeoutMs)))])
    clearTimeout(timer)
    return gone
  }

  /** Processes whose command line or executable mentions this engine's directory (its shims). */
  private processesUsingDir(): number[] {
    const pids: number[] = []
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue
      try {
        const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8')
        if (cmdline.includes(this.dir)) pids.push(Number(entry))
      } catch {
        // Gone meanwhile, or not readable.
      }
    }
    return pids
  }

  /** Mount points under this engine's directory, deepest first. */
  private mountsUnderDir(): string[] {
    const points = readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((line) => line.split(' ')[4] ?? '')
      .filter((point) => point === this.dir || point.startsWith(this.dir + '/'))
    return [...new Set(points)].sort((a, b) => b.length - a.length)
  }
}
