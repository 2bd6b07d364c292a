import {Args, Flags} from '@oclif/core'
import chalk from 'chalk'

import {TtaCommand} from '../cli/base-command.js'
import {listenForInterrupt} from '../cli/interrupt.js'
import {openEngineApi, type EngineApi} from '../docker/api.js'
import {ExitCode, TtaError} from '../errors.js'
import type {CollectOptions} from '../status/collect.js'
import {checkFailure, collectOptionsFor, rejectUnknownServices, statusOnce, type StatusRequest} from '../status/one-shot.js'
import {reachFor} from '../status/reach.js'
import {serveStatus} from '../status/serve.js'
import {table} from '../ui/format.js'
import {writeJson} from '../ui/output.js'
import {renderStatusOnce} from '../ui/status-view.js'
import {watchStatus} from '../ui/status-watch.js'
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
      if (flags.serve !== undefined) return await serveUntilInterrupted(api, options, flags.serve, flags.bind)
      const interrupt = listenForInterrupt()
      try {
        await watchStatus(api, options, {json: flags.json, signal: interrupt.signal, sleep: interrupt.sleep, first: (report) => rejectUnknownServices(report, workspace)})
      } finally {
        interrupt.dispose()
      }
      process.exitCode = interrupt.exitCode()
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
}

/** --serve: the metrics server until Ctrl-C (exit 130) or SIGTERM. */
async function serveUntilInterrupted(api: EngineApi, options: CollectOptions, port: number, bind: string): Promise<void> {
  const server = await serveStatus(api, options, {port, bind})
  const stop = listenForInterrupt()
  process.stderr.write(`serving Prometheus metrics for project ${options.project} on ${server.url}/metrics (JSON on /status); Ctrl-C to stop\n`)
  await stop.wait()
  await server.close()
  stop.dispose()
  process.exitCode = stop.exitCode()
}
