import {existsSync, readFileSync} from 'node:fs'
import {dirname} from 'node:path'

import {Flags} from '@oclif/core'
import chalk from 'chalk'

import {TtaCommand} from './base-command.js'
import {listenForInterrupt} from './interrupt.js'
import {snapshotBeforeMajorChange} from '../backup/auto.js'
import {checksumsOrRefuse, planRestore, restore} from '../backup/restore.js'
import {seedSource, type SeedBackup} from '../backup/seed.js'
import {backupSettings} from '../backup/settings.js'
import {BackupStore} from '../backup/store.js'
import {discoverTargets} from '../backup/targets.js'
import type {LoadedProject, Service} from '../compose/model.js'
import {connectEngine, type EngineConnection} from '../docker/client.js'
import {allocatePorts, blockStart, reassignablePorts} from '../engine/port-allocation.js'
import {applyImageMap} from '../engine/images.js'
import {AbortedError} from '../engine/readiness.js'
import {PortInUseError} from '../engine/ports.js'
import {EngineLostError} from '../engine/engine-errors.js'
import {ImageError, UnknownServiceError, up, UpFailedError} from '../engine/up.js'
import {serviceUrls} from '../engine/urls.js'
import {DEFAULT_UI_PORT} from '../dashboard/model.js'
import {ExitCode, TtaError} from '../errors.js'
import {seconds, table} from '../ui/format.js'
import {plainUpProgress, ttyUpProgress, type UpProgress} from '../ui/up-progress.js'
import {loadWorkspaceProject, projectNameFor, type Mode} from '../workspace/project.js'
import {refuseInvalidServiceNames} from '../compose/project-name.js'
import {ensureSecrets, missingSecrets, UNGENERATED_SECRET} from '../workspace/secrets.js'
import {refuseMissingBuildContexts} from '../workspace/build-contexts.js'
import {PORTS_FILE, recordedPorts, recordPorts, userSetVariables} from '../workspace/port-state.js'
import type {Workspace} from '../workspace/workspace.js'
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
    'strict-ports': Flags.boolean({description: 'refuse (exit 2) when a default host port is taken, instead of allocating a free one'}),
    from: Flags.string({description: 'seed the datastores from another checkout\'s latest backup (its path) or a backup id', helpValue: 'CHECKOUT|BACKUP-ID'}),
    'no-snapshot': Flags.boolean({description: 'do not take the automatic safety snapshot before seeding or a datastore major-version change'}),
    ui: Flags.boolean({description: 'once ready, serve the dashboard (as `tta ui`) until Ctrl-C'}),
    'ui-port': Flags.integer({description: `port of the dashboard with --ui (default ${DEFAULT_UI_PORT})`, min: 0, max: 65535, dependsOn: ['ui'], helpValue: 'PORT'}),
  }

  protected abstract readonly mode: Mode

  protected async runUp(
    flags: {build: boolean; timeout: number; 'force-recreate': boolean; verbose: boolean; file?: string[]; workspace?: string; 'project-name'?: string; 'no-hot-reload'?: boolean; 'strict-ports': boolean; from?: string; 'no-snapshot': boolean; ui: boolean; 'ui-port'?: number},
    services: string[],
    options: {watch?: boolean} = {},
  ): Promise<UpSession> {
    refuseInvalidServiceNames(services)
    // Connecting (asking the engine its version) overlaps with loading the
    // compose files; a bad file still wins, since its error is thrown first.
    const connecting = connectEngine()
    connecting.catch(() => undefined)
    const workspace = this.openWorkspace(flags)
    // A bad --project-name is refused before the first run writes anything (.env).
    const projectName = projectNameFor({projectName: flags['project-name'], workspace})
    // So is a bad --from: nothing is written or started.
    const seedFrom = flags.from === undefined ? undefined : seedSource(flags.from, {cwd: process.cwd(), store: this.backupStore(workspace)})
    const userSet = userSetVariables(existsSync(workspace.envFile) ? readFileSync(workspace.envFile, 'utf8') : '', process.env, workspace.envFile)
    // Ports tta allocated earlier for this project, unless the user now sets the variable.
    const allocated = flags['strict-ports'] ? {} : Object.fromEntries(Object.entries(recordedPorts(workspace.root, projectName)).filter(([name]) => !userSet.has(name)))
    const read = (extra: Record<string, string>): LoadedProject => {
      const environment = {...process.env, ...extra, ...Object.fromEntries(Object.entries(allocated).map(([name, port]) => [name, String(port)]))}
      const result = loadWorkspaceProject({workspace, cwd: process.cwd(), mode: this.mode, hotReload: !flags['no-hot-reload'], watch: options.watch, files: flags.file, projectName: flags['project-name'], environment})
      result.project = applyImageMap(result.project, workspace.config.images)
      return result
    }
    // Secrets not generated yet stand in as placeholders until the files are known to be usable
    // here: a run that is refused (outside a TTA checkout, say) writes no .env.
    const missingSecretNames = flags.file ? [] : missingSecrets(workspace.envFile)
    let loaded = read(Object.fromEntries(missingSecretNames.map((name) => [name, UNGENERATED_SECRET])))
    refuseMissingBuildContexts(loaded.project, services, workspace.root, this.id ?? 'dev')
    if (missingSecretNames.length > 0) {
      const secrets = ensureSecrets(workspace.envFile)
      if (secrets.generated.length > 0) {
        process.stderr.write(chalk.dim(`generated ${secrets.generated.join(', ')} into ${secrets.envFile} (mode 0600)\n`))
      }
      loaded = read({})
    }
    const conn = await connecting
    const host = await detectHostContext(conn.engine, workspace.root)
    const translate = (result: LoadedProject): LoadedProject => {
      result.project = translateBindSources(result.project, host, [workspace.root, bundledComposeDir, ...result.configFiles.map((file) => dirname(file))])
      return result
    }
    // Reloads after a port allocation changed the environment.
    const load = (): LoadedProject => translate(read({}))
    loaded = translate(loaded)
    for (const warning of loaded.warnings) process.stderr.write(chalk.yellow(`warning: ${warning}\n`))
    if (flags.verbose && host.engineIsOutside) {
      process.stderr.write(chalk.dim(`note: running in a container beside the engine; bind sources translated via ${host.via}, services probed at their container addresses\n`))
    }

    const interrupt = listenForInterrupt()
    const tty = Boolean(process.stderr.isTTY) && !process.env.CI
    const progress: UpProgress = tty ? await ttyUpProgress({verbose: flags.verbose}) : plainUpProgress({verbose: flags.verbose})
    const t0 = Date.now()
    const notices: string[] = []
    let session: UpSession
    try {
      if (!flags['no-snapshot']) {
        const snapshot = await snapshotBeforeMajorChange(conn, loaded, {store: this.backupStore(workspace), ttaVersion: this.config.version, readyTimeoutMs: flags.timeout * 1000, services})
        if (snapshot) notices.push(`auto snapshot ${snapshot.id} taken before changing ${snapshot.services.join(', ')} to another major version (tta undo restores it)`)
      }
      let result
      // A taken default port gets a free one from the project's block (recorded in .tta/ports.json),
      // then the run starts over: nothing was created for it. Bounded: each round settles ports.
      for (let attempt = 1; ; attempt++) {
        try {
          result = await up(conn, loaded, {
            services,
            build: flags.build,
            forceRecreate: flags['force-recreate'],
            timeoutMs: flags.timeout * 1000,
            signal: interrupt.signal,
            emit: (event) => progress.emit(event),
            host,
          })
          break
        } catch (error) {
          const needs = flags['strict-ports'] || attempt >= 4 ? undefined : reassignablePorts(error, loaded, userSet)
          if (!needs) throw error
          const avoid = new Set([...Object.values(allocated), ...Object.values(recordedPorts(workspace.root, projectName))])
          const {ports, unserved} = await allocatePorts(needs, {block: blockStart(workspace.root, projectName), avoid})
          if (unserved.length > 0) throw error
          recordPorts(workspace.root, projectName, ports)
          Object.assign(allocated, ports)
          for (const [name, port] of Object.entries(ports)) notices.push(`${name}: the port was taken, using ${port} (recorded in .tta/${PORTS_FILE}; --strict-ports refuses instead)`)
          loaded = load()
        }
      }
      if (seedFrom) notices.push(await this.seed(seedFrom, {conn, workspace, project: loaded.project.name, snapshot: !flags['no-snapshot'], timeoutMs: flags.timeout * 1000}))
      await progress.finish()
      for (const notice of notices) process.stderr.write(chalk.dim(`${notice}\n`))
      const rows = result.plan.levels.flat().map((name) => {
        const service = loaded.project.services[name] as Service
        return [name, chalk.green('ready'), serviceUrls(service).join('  ')]
      })
      process.stdout.write(`\n${table(['SERVICE', 'STATE', 'URL'], rows)}\n\n${chalk.green(`✔ ${rows.length} services ready in ${seconds(Date.now() - t0)}`)} (project ${loaded.project.name})\n`)
      session = {conn, loaded, host, services: result.plan.levels.flat()}
    } catch (error) {
      await progress.finish()
      for (const notice of notices) process.stderr.write(chalk.dim(`${notice}\n`))
      throw this.translate(error as Error, flags.timeout)
    } finally {
      interrupt.dispose()
    }
    if (flags.ui) {
      const {serveDashboard} = await import('../ui/dashboard-session.js')
      process.exitCode = await serveDashboard({workspace, projectName: flags['project-name'], port: flags['ui-port'] ?? DEFAULT_UI_PORT, ttaVersion: this.config.version}, {open: false})
    }
    return session
  }

  protected backupStore(workspace: Workspace): BackupStore {
    return new BackupStore(backupSettings(workspace, {}).dir, {workspaceRoot: workspace.root})
  }

  /** `--from`: restores the seed backup into the datastores this run has (safety snapshot first); returns what it did, in words. */
  private async seed(source: SeedBackup, options: {conn: EngineConnection; workspace: Workspace; project: string; snapshot: boolean; timeoutMs: number}): Promise<string> {
    const store = this.backupStore(options.workspace)
    const targets = await discoverTargets(options.conn.engine, options.project)
    const services = Object.keys(source.manifest.services).filter((service) => targets.has(service))
    if (services.length === 0) {
      throw new TtaError(`--from: backup ${source.id} holds ${Object.keys(source.manifest.services).join(', ')}, none of which runs in project ${options.project}`, ExitCode.badInput, 'start those services too, or seed from another backup')
    }
    const plan = await planRestore(options.conn, options.project, source, services)
    await checksumsOrRefuse(plan, () => undefined)
    const outcome = await restore(plan, {conn: options.conn, project: options.project, store, safetyBackup: options.snapshot, ttaVersion: this.config.version, readyTimeoutMs: options.timeoutMs, emit: () => undefined})
    const failed = outcome.services.filter((s) => !s.ok)
    if (failed.length > 0 || outcome.services.length < plan.items.length) {
      throw new TtaError(
        `seeding from backup ${source.id} failed: ${failed.map((f) => `${f.service}: ${f.detail}`).join('; ') || 'stopped early'}`,
        ExitCode.failed,
        outcome.safetyBackup ? `the state before is in auto snapshot ${outcome.safetyBackup}: tta undo` : 'run tta dev --from again',
      )
    }
    return `seeded ${outcome.services.map((s) => `${s.service} (${s.detail})`).join(', ')} from backup ${source.id} of project ${source.manifest.project} (${source.dir})`
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
