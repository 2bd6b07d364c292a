import {createServer} from 'node:http'
import {Args, Flags} from '@oclif/core'
import chalk from 'chalk'

import {TtaCommand} from '../cli/base-command.js'
import {openEngineApi, type EngineApi} from '../docker/api.js'
import {ExitCode, TtaError} from '../errors.js'
import {collectStatus, type CollectOptions} from '../status/collect.js'
import type {StatusReport} from '../status/model.js'
import {checkFailure, collectOptionsFor, rejectUnknownServices, statusOnce, type StatusRequest} from '../status/one-shot.js'
import {reachFor} from '../status/reach.js'
import type {StatsSample} from '../status/stats.js'
import {table} from '../ui/format.js'
import {writeJson} from '../ui/output.js'
import {renderNothing, renderStatus, renderStatusOnce, screen} from '../ui/status-view.js'
import type {Workspace} from '../workspace/workspace.js'

const seconds = Flags.custom<number>({
  parse: async (input) => {
    const value = Number(input)
    if (!Number.isFinite(value) || value <= 0 || value > 120) throw new Error(`expected seconds between 0 and 120, got "${input}"`)
    return value
  },
})

export default class Status extends TtaCommand {
  static override summary = 'Is the environment OK? State, health, probe, uptime, CPU and memory of every service.'

  static override description =
    'Reads the project\'s containers from the engine (no compose file needed) and probes every running service at the ' +
    'protocol level, in parallel: redis PING, a postgres startup, neo4j discovery and bolt handshake, an HTTP GET of ' +
    'the URL its healthcheck uses, else its healthcheck run in the container, else a TCP connect. Probes can be set ' +
    'per service in tta.config.yaml `probes:`. --check exits 1 unless every selected service is healthy.'

  static override examples = [
    '<%= config.bin %> status',
    '<%= config.bin %> status redis postgres --check',
    '<%= config.bin %> status --json',
    '<%= config.bin %> status --watch',
    '<%= config.bin %> status --serve 9464',
    '<%= config.bin %> status --secrets',
  ]

  static override strict = false

  static override args = {service: Args.string({description: 'services to show; default all'})}

  static override flags = {
    json: Flags.boolean({description: 'print the status as JSON (schema: docs/status-logs.md)'}),
    watch: Flags.boolean({char: 'w', description: 'redraw every second until Ctrl-C'}),
    check: Flags.boolean({description: 'exit 1 unless every selected service is healthy (for scripts and CI)'}),
    metrics: Flags.boolean({description: 'print Prometheus exposition text (tta_service_up, tta_service_response_time_seconds, ...)'}),
    serve: Flags.integer({description: 'serve the metrics on http://BIND:PORT/metrics until Ctrl-C', min: 1, max: 65535, helpValue: 'PORT'}),
    bind: Flags.string({description: 'address --serve listens on (0.0.0.0 lets containers scrape it)', default: '127.0.0.1'}),
    secrets: Flags.boolean({description: "print the stack's generated passwords (from the workspace .env) and exit"}),
    timeout: seconds({description: 'seconds a probe may take (exec probes: at most their healthcheck timeout)', default: 1}),
    stats: Flags.boolean({description: 'read CPU and memory (--no-stats skips them)', default: true, allowNo: true}),
  }

  async run(): Promise<void> {
    const {flags, argv} = await this.parse(Status)
    const services = argv as string[]
    const exclusive = (a: string, others: string[]): void => {
      const clash = others.filter((o) => (flags as Record<string, unknown>)[o] !== undefined && (flags as Record<string, unknown>)[o] !== false)
      if ((flags as Record<string, unknown>)[a] && clash.length > 0) throw new TtaError(`--${a} cannot be combined with --${clash.join(', --')}`, ExitCode.badInput)
    }
    exclusive('secrets', ['watch', 'check', 'metrics', 'serve'])
    exclusive('watch', ['check', 'metrics', 'serve'])
    exclusive('serve', ['json', 'check', 'metrics'])
    exclusive('metrics', ['json'])

    const workspace = this.openWorkspace(flags)
    if (flags.secrets) {
      await this.printSecrets(workspace, flags.json)
      return
    }
    const request: StatusRequest = {workspace, projectName: flags['project-name'], services, timeoutSeconds: flags.timeout, stats: flags.stats}
    if (flags.serve === undefined && !flags.watch) {
      const report = await statusOnce(request)
      process.stdout.write(flags.metrics ? (await import('../status/metrics.js')).renderMetrics(report) : renderStatusOnce(report, {json: flags.json}))
      const failure = flags.check ? checkFailure(report) : undefined
      if (failure) throw failure
      return
    }
    const options = collectOptionsFor(request)
    const api = await openEngineApi()
    try {
      // Rounds after rounds: work out once how the services' ports are reached.
      options.reach = await reachFor(api)
      if (flags.serve !== undefined) return await this.serve(api, options, flags.serve, flags.bind)
      return await this.watch(api, options, workspace, flags.json)
    } finally {
      api.close()
    }
  }

  private async printSecrets(workspace: Workspace, json: boolean): Promise<void> {
    // Loaded only here: the dotenv parser is of no use to the status itself.
    const {readSecretValues} = await import('../workspace/secret-values.js')
    const values = readSecretValues(workspace.envFile)
    if (values.length === 0) {
      throw new TtaError(`no generated secrets yet (${workspace.envFile} has none)`, ExitCode.failed, 'run `tta dev` (or `tta config`): it generates them into the workspace .env, mode 0600')
    }
    if (json) {
      writeJson({envFile: workspace.envFile, secrets: Object.fromEntries(values.map((v) => [v.name, {value: v.value, source: v.source}]))})
      return
    }
    process.stdout.write(`${table(['NAME', 'VALUE', 'FROM'], values.map((v) => [v.name, v.value, v.source === '.env' ? workspace.envFile : v.source]))}\n`)
    process.stderr.write(chalk.dim('these are secrets: keep them out of chat, tickets and shell history\n'))
  }

  private async watch(api: EngineApi, options: CollectOptions, workspace: Workspace, json: boolean): Promise<void> {
    const tty = Boolean(process.stdout.isTTY) && !json
    const stop = stopSignal()
    let previous: Map<string, StatsSample> | undefined
    if (tty) process.stdout.write(screen.enter)
    try {
      let first = true
      while (!stop.signal.aborted) {
        const started = Date.now()
        const {report, samples} = await collectStatus(api, {...options, previous})
        if (first) await rejectUnknownServices(report, workspace)
        first = false
        previous = samples
        const time = new Date().toLocaleTimeString()
        if (json) process.stdout.write(JSON.stringify(report) + '\n')
        else {
          const body = report.counts.total === 0 ? renderNothing(options.project) : renderStatus(report)
          const title = `tta status · project ${options.project} · ${time} · every 1s, Ctrl-C to quit`
          process.stdout.write(tty ? screen.frame(`${chalk.bold(title)}\n\n${body}`) : `--- ${time}\n${body}\n\n`)
        }
        await stop.sleep(Math.max(0, 1000 - (Date.now() - started)))
      }
    } finally {
      if (tty) process.stdout.write(screen.leave)
      stop.dispose()
    }
    process.exitCode = stop.exitCode()
  }

  private async serve(api: EngineApi, options: CollectOptions, port: number, bind: string): Promise<void> {
    const {renderMetrics} = await import('../status/metrics.js')
    let previous: Map<string, StatsSample> | undefined
    let inflight: Promise<StatusReport> | undefined
    // Scrapes that overlap share one collection: probes run once, whatever the scrape rate.
    const collect = (): Promise<StatusReport> =>
      (inflight ??= collectStatus(api, {...options, previous})
        .then(({report, samples}) => {
          previous = samples
          return report
        })
        .finally(() => {
          inflight = undefined
        }))
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0]
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, {allow: 'GET, HEAD'}).end()
        return
      }
      if (path === '/metrics' || path === '/status') {
        collect().then(
          (report) => {
            const body = path === '/metrics' ? renderMetrics(report) : JSON.stringify(report, null, 2) + '\n'
            res.writeHead(200, {'content-type': path === '/metrics' ? 'text/plain; version=0.0.4; charset=utf-8' : 'application/json'}).end(req.method === 'HEAD' ? undefined : body)
          },
          (error: Error) => res.writeHead(503, {'content-type': 'text/plain; charset=utf-8'}).end(`tta status: ${error.message}\n`),
        )
        return
      }
      if (path === '/') {
        res.writeHead(200, {'content-type': 'text/plain; charset=utf-8'}).end(`tta status for project ${options.project}: /metrics (Prometheus), /status (JSON)\n`)
        return
      }
      res.writeHead(404, {'content-type': 'text/plain; charset=utf-8'}).end('not found: try /metrics\n')
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) => {
        reject(
          error.code === 'EADDRINUSE'
            ? new TtaError(`--serve: ${bind}:${port} is already in use`, ExitCode.badInput, 'pick another port')
            : error.code === 'EADDRNOTAVAIL'
              ? new TtaError(`--bind: ${bind} is not an address of this machine`, ExitCode.badInput)
              : error,
        )
      })
      server.listen(port, bind, () => resolve())
    })
    const stop = stopSignal()
    const shown = bind.includes(':') ? `[${bind}]` : bind
    process.stderr.write(`serving Prometheus metrics for project ${options.project} on http://${shown}:${port}/metrics (JSON on /status); Ctrl-C to stop\n`)
    await stop.wait()
    await new Promise<void>((resolve) => {
      server.close(() => resolve())
      server.closeAllConnections()
    })
    stop.dispose()
    process.exitCode = stop.exitCode()
  }
}

/** Ctrl-C (exit 130) or SIGTERM (exit 0) ends a watch or a server cleanly. */
function stopSignal(): {signal: AbortSignal; sleep(ms: number): Promise<void>; wait(): Promise<void>; exitCode(): number; dispose(): void} {
  const controller = new AbortController()
  let code = 0
  const onInt = (): void => {
    code = ExitCode.interrupted
    controller.abort()
  }
  const onTerm = (): void => controller.abort()
  process.once('SIGINT', onInt)
  process.once('SIGTERM', onTerm)
  const wait = (): Promise<void> => new Promise((resolve) => (controller.signal.aborted ? resolve() : controller.signal.addEventListener('abort', () => resolve(), {once: true})))
  return {
    signal: controller.signal,
    sleep: (ms) =>
      new Promise((resolve) => {
        const timer = setTimeout(resolve, ms)
        controller.signal.addEventListener('abort', () => {
          clearTimeout(timer)
          resolve()
        }, {once: true})
      }),
    wait,
    exitCode: () => code,
    dispose: () => {
      process.off('SIGINT', onInt)
      process.off('SIGTERM', onTerm)
    },
  }
}
