import {Flags} from '@oclif/core'
import chalk from 'chalk'

import {dirname} from 'node:path'

import {TtaCommand} from './base-command.js'
import type {LoadedProject, Service} from '../compose/model.js'
import {connectEngine, type EngineConnection} from '../docker/client.js'
import {applyImageMap} from '../engine/images.js'
import {AbortedError} from '../engine/readiness.js'
import {PortInUseError} from '../engine/ports.js'
import {EngineLostError} from '../engine/engine-errors.js'
import {ImageError, UnknownServiceError, up, UpFailedError} from '../engine/up.js'
import {serviceUrls} from '../engine/urls.js'
import {ExitCode, TtaError} from '../errors.js'
import {seconds, table} from '../ui/format.js'
import {plainUpProgress, ttyUpProgress, type UpProgress} from '../ui/up-progress.js'
import {loadWorkspaceProject, projectNameFor, type Mode} from '../workspace/project.js'
import {refuseInvalidServiceNames} from '../compose/project-name.js'
import {ensureSecrets} from '../workspace/secrets.js'
import {detectHostContext, translateBindSources, type HostContext} from '../workspace/devcontainer.js'
import {bundledComposeDir} from '../paths.js'

/** What a finished `up` leaves for a session that goes on (tta dev --watch). */
export interface UpSession {
  conn: EngineConnection
  loaded: LoadedProject
  host: HostContext
  /** The services brought to ready, in start order. */
  services: string[]
}

/** `tta dev`, `tta monitoring`, `tta full`: bring a mode's services to ready. */
export abstract class UpCommand extends TtaCommand {
  static override flags = {
    build: Flags.boolean({description: 'rebuild images of services that have a build section'}),
    timeout: Flags.integer({description: 'seconds to wait for every service to be ready', default: 300, min: 1}),
    'force-recreate': Flags.boolean({description: 'recreate containers even if nothing changed'}),
    verbose: Flags.boolean({char: 'v', description: 'show the plan, build output and engine notes'}),
    file: Flags.string({char: 'f', description: 'compose file to run instead of the bundled ones (repeatable)', multiple: true}),
  }

  protected abstract readonly mode: Mode

  protected async runUp(flags: {build: boolean; timeout: number; 'force-recreate': boolean; verbose: boolean; file?: string[]; workspace?: string; 'project-name'?: string; 'no-hot-reload'?: boolean}, services: string[], options: {watch?: boolean} = {}): Promise<UpSession> {
    refuseInvalidServiceNames(services)
    // Connecting (loading dockerode, asking the engine its version) overlaps with loading the
    // compose files; a bad file still wins, since its error is thrown first.
    const connecting = connectEngine()
    connecting.catch(() => undefined)
    const workspace = this.openWorkspace(flags)
    // A bad --project-name is refused before the first run writes anything (.env).
    projectNameFor({projectName: flags['project-name'], workspace})
    if (!flags.file) {
      const secrets = ensureSecrets(workspace.envFile)
      if (secrets.generated.length > 0) {
        process.stderr.write(chalk.dim(`generated ${secrets.generated.join(', ')} into ${secrets.envFile} (mode 0600)\n`))
      }
    }
    const loaded = loadWorkspaceProject({workspace, cwd: process.cwd(), mode: this.mode, hotReload: !flags['no-hot-reload'], watch: options.watch, files: flags.file, projectName: flags['project-name']})
    for (const warning of loaded.warnings) process.stderr.write(chalk.yellow(`warning: ${warning}\n`))
    loaded.project = applyImageMap(loaded.project, workspace.config.images)
    const conn = await connecting
    const host = await detectHostContext(conn.docker, workspace.root)
    loaded.project = translateBindSources(loaded.project, host, [workspace.root, bundledComposeDir, ...loaded.configFiles.map((file) => dirname(file))])
    if (flags.verbose && host.engineIsOutside) {
      process.stderr.write(chalk.dim(`note: running in a container beside the engine; bind sources translated via ${host.via}, services probed at their container addresses\n`))
    }

    const controller = new AbortController()
    const onSignal = (): void => controller.abort()
    process.once('SIGINT', onSignal)
    process.once('SIGTERM', onSignal)
    const tty = Boolean(process.stderr.isTTY) && !process.env.CI
    const progress: UpProgress = tty ? await ttyUpProgress({verbose: flags.verbose}) : plainUpProgress({verbose: flags.verbose})
    const t0 = Date.now()
    try {
      const result = await up(conn, loaded, {
        services,
        build: flags.build,
        forceRecreate: flags['force-recreate'],
        timeoutMs: flags.timeout * 1000,
        signal: controller.signal,
        emit: (event) => progress.emit(event),
        host,
      })
      await progress.finish()
      const rows = result.plan.levels.flat().map((name) => {
        const service = loaded.project.services[name] as Service
        return [name, chalk.green('ready'), serviceUrls(service).join('  ')]
      })
      process.stdout.write(`\n${table(['SERVICE', 'STATE', 'URL'], rows)}\n\n${chalk.green(`✔ ${rows.length} services ready in ${seconds(Date.now() - t0)}`)} (project ${loaded.project.name})\n`)
      return {conn, loaded, host, services: result.plan.levels.flat()}
    } catch (error) {
      await progress.finish()
      throw this.translate(error as Error, flags.timeout)
    } finally {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
    }
  }

  private translate(error: Error, timeout: number): Error {
    if (error instanceof AbortedError) {
      return new TtaError('interrupted: stopped waiting; containers that were started keep running, the next run converges', ExitCode.interrupted)
    }
    if (error instanceof PortInUseError) {
      const fixes = error.conflicts.map((c) => (c.variable ? `set ${c.variable} to a free port (in the workspace .env or the environment)` : `change the published port of ${c.service}`))
      return new TtaError(`${error.message}\nnothing was started`, ExitCode.badInput, `${[...new Set(fixes)].join('; ')}, or stop what listens there`)
    }
    if (error instanceof UnknownServiceError) return new TtaError(error.message, ExitCode.badInput)
    if (error instanceof EngineLostError) {
      return new TtaError(
        `${error.message} during tta ${this.id ?? 'dev'}; nothing more was changed`,
        ExitCode.engineUnreachable,
        `start the Docker engine again (Docker Desktop, \`sudo systemctl start docker\`, or \`sudo dockerd &\`), then run tta ${this.id ?? 'dev'} again: it converges from where this run stopped`,
      )
    }
    if (error instanceof ImageError) {
      return new TtaError(error.message, ExitCode.failed, error.phase === 'pull' ? 'no registry reachable? map the image to one you have in tta.config.yaml `images:`, or build it' : 'fix the Dockerfile or build context above; `--verbose` streams the whole build')
    }
    if (error instanceof UpFailedError) {
      const lines: string[] = []
      for (const failure of error.failures) {
        const state = failure.state ? ` [${failure.state}${failure.exitCode ? `, exit code ${failure.exitCode}` : ''}]` : ''
        lines.push(`${failure.service}: ${failure.reason}${state}`)
        if (failure.logs.length > 0) {
          lines.push(`  last ${failure.logs.length} log lines of ${failure.service}:`)
          for (const line of failure.logs) lines.push(`  │ ${line}`)
        } else {
          lines.push(`  (${failure.service} wrote no logs)`)
        }
      }
      return new TtaError(`${error.message} (timeout ${timeout}s)\n${lines.join('\n')}`, ExitCode.failed, 'fix the service above and run the command again: ready services are kept')
    }
    return error
  }
}
