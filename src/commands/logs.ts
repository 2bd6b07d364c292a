import {Args, Flags} from '@oclif/core'
import chalk from 'chalk'

import {TtaCommand} from '../cli/base-command.js'
import {listenForInterrupt} from '../cli/interrupt.js'
import {openEngineApi, type EngineApi} from '../docker/api.js'
import {ExitCode, TtaError} from '../errors.js'
import {followLogs} from '../logs/follow.js'
import {ignoreGone, listLogSources, readHistory, streamLogs, type LogQuery} from '../logs/read.js'
import {Summarizer} from '../logs/summary.js'
import {parseTimeArg} from '../logs/time.js'
import {refuseUnknownServices} from '../status/groups.js'
import {LogPrinter, renderSummary} from '../ui/logs-view.js'
import {writeJson} from '../ui/output.js'
import {projectNameFor} from '../workspace/project.js'
import type {Workspace} from '../workspace/workspace.js'
import {refuseInvalidServiceNames} from '../compose/project-name.js'

export default class Logs extends TtaCommand {
  static override summary = "Read the services' logs: merged in time order, one colour per service."

  static override description =
    'Without -f, the lines of every selected container are merged in timestamp order (Compose prints them in ' +
    'arrival order). With -f, the history is printed the same way, then new lines as they come; containers that ' +
    'restart or appear later are followed too. stdout and stderr are both shown; --json prints one object per line.'

  static override examples = [
    '<%= config.bin %> logs',
    '<%= config.bin %> logs admin-api redis -f',
    '<%= config.bin %> logs --since 10m --grep "ERROR|Traceback"',
    '<%= config.bin %> logs -n 100 -t',
    '<%= config.bin %> logs --since 1h --summary',
    '<%= config.bin %> logs --json | jq -r .message',
  ]

  static override strict = false

  static override args = {service: Args.string({description: 'services to show; default all'})}

  static override flags = {
    follow: Flags.boolean({char: 'f', description: 'keep printing new lines; follows containers that restart or appear'}),
    tail: Flags.integer({char: 'n', description: 'only the last N lines of each container', min: 0, helpValue: 'N'}),
    since: Flags.string({description: 'only lines since a time: a duration back (10m, 1h30m), RFC 3339, a date or Unix seconds', helpValue: 'T'}),
    until: Flags.string({description: 'only lines before a time (same forms as --since)', helpValue: 'T'}),
    grep: Flags.string({description: 'only lines whose message matches this regular expression (JavaScript syntax)', helpValue: 'RE'}),
    'ignore-case': Flags.boolean({char: 'i', description: 'with --grep: match regardless of case'}),
    timestamps: Flags.boolean({char: 't', description: 'show each line\'s timestamp'}),
    json: Flags.boolean({description: 'one JSON object per line: {time, service, container, stream, message}'}),
    summary: Flags.boolean({description: 'count lines, errors, warnings and HTTP 4xx/5xx per service instead of printing lines'}),
  }

  async run(): Promise<void> {
    const {flags, argv} = await this.parse(Logs)
    const services = argv as string[]
    refuseInvalidServiceNames(services)
    if (flags.summary && flags.follow) throw new TtaError('--summary counts what is there: it cannot be combined with -f', ExitCode.badInput)
    let pattern: RegExp | undefined
    if (flags.grep !== undefined) {
      try {
        pattern = new RegExp(flags.grep, flags['ignore-case'] ? 'i' : '')
      } catch (error) {
        throw new TtaError(`--grep: ${(error as Error).message}`, ExitCode.badInput, 'write a JavaScript regular expression, e.g. "ERROR|WARN"')
      }
    }
    const query: LogQuery = {
      tail: flags.tail,
      since: flags.since === undefined ? undefined : parseTimeArg(flags.since, 'since'),
      until: flags.until === undefined ? undefined : parseTimeArg(flags.until, 'until'),
    }
    if (query.since !== undefined && query.until !== undefined && Number(query.since) >= Number(query.until)) {
      throw new TtaError(`--since ${flags.since} is not before --until ${flags.until}: no line could match`, ExitCode.badInput, 'durations count back from now: --since 2h --until 10m is the window from two hours to ten minutes ago')
    }
    const keep = pattern ? (text: string) => (pattern as RegExp).test(text) : () => true
    const workspace = this.openWorkspace(flags)
    const project = projectNameFor({projectName: flags['project-name'], workspace})
    const api = await openEngineApi()
    try {
      if (flags.follow) await this.follow(api, project, services, query, keep, flags, workspace)
      else await this.history(api, project, services, query, keep, flags, workspace)
    } finally {
      api.close()
    }
  }

  private async history(api: EngineApi, project: string, services: string[], query: LogQuery, keep: (text: string) => boolean, flags: {json: boolean; timestamps: boolean; summary: boolean}, workspace: Workspace): Promise<void> {
    const {sources, missing} = await listLogSources(api, project, services)
    await refuseUnknownServices(missing, workspace.config.composeFiles)
    for (const name of missing) process.stderr.write(chalk.dim(`${name}: no container (not started)\n`))
    if (sources.length === 0) {
      if (missing.length === 0) process.stderr.write(`no containers in project ${project}: start the stack with \`tta dev\`\n`)
      return
    }
    if (flags.summary) {
      // Counting needs no ordering and keeps no lines.
      const summarizer = new Summarizer()
      await Promise.all(sources.map((source) => streamLogs(api, source, query, (ts, _stream, text) => keep(text) && summarizer.add(source.service, ts, text)).catch(ignoreGone)))
      const result = summarizer.result([...new Set(sources.map((s) => s.service))])
      if (flags.json) writeJson(result)
      else process.stdout.write(renderSummary(result) + '\n')
      return
    }
    const printer = new LogPrinter({timestamps: flags.timestamps, json: flags.json})
    for (const source of sources) printer.register(source)
    const {lines} = await readHistory(api, sources, query, keep)
    for (const line of lines) printer.line(line, line.source)
    await printer.flush()
  }

  private async follow(api: EngineApi, project: string, services: string[], query: LogQuery, keep: (text: string) => boolean, flags: {json: boolean; timestamps: boolean}, workspace: Workspace): Promise<void> {
    if (services.length > 0) {
      const {missing} = await listLogSources(api, project, services)
      await refuseUnknownServices(missing, workspace.config.composeFiles)
    }
    const printer = new LogPrinter({timestamps: flags.timestamps, json: flags.json, live: true})
    const interrupt = listenForInterrupt()
    try {
      await followLogs(api, {
        project,
        services,
        query,
        keep,
        signal: interrupt.signal,
        onSource: (source) => printer.register(source),
        onLine: (line, source) => printer.line(line, source),
        onNote: (text) => printer.note(text),
      })
    } finally {
      interrupt.dispose()
      await printer.flush()
    }
    process.exitCode = interrupt.exitCode()
  }
}
