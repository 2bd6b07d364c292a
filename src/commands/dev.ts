import {setMaxListeners} from 'node:events'

import {Args, Flags} from '@oclif/core'
import chalk from 'chalk'

import {listenForInterrupt} from '../cli/interrupt.js'
import {UpCommand, type UpSession} from '../cli/up-command.js'
import type {Service} from '../compose/model.js'
import {openEngineApi} from '../docker/api.js'
import {stop} from '../engine/stop.js'
import {serviceUrls} from '../engine/urls.js'
import {ExitCode, TtaError} from '../errors.js'
import {followLogs} from '../logs/follow.js'
import {SessionView, type KeyCommand} from '../ui/dev-session.js'
import {WatchSession} from '../watch/session.js'

export default class Dev extends UpCommand {
  static override summary = 'Start the core TTA stack with hot reload and wait until every service is ready.'

  static override description =
    'Converges Docker to the bundled core + hot-reload compose files: pulls or builds missing images, creates or ' +
    'recreates only what changed, starts services in dependency order (independent ones in parallel), and waits ' +
    'until each one is ready (its healthcheck passes, else its port answers). Prints the URLs when done.\n\n' +
    'With --watch (or `dev: {watch: true}` in tta.config.yaml) sources are not bind-mounted: tta stays attached, ' +
    "copies changed files into the containers through the engine API following the services' develop.watch rules " +
    '(sync, rebuild, restart, sync+restart, sync+exec), and shows one line per service above the merged logs. ' +
    'Works the same with a remote engine. See docs/watch.md.'

  static override examples = [
    '<%= config.bin %> dev',
    '<%= config.bin %> dev admin-api --build',
    '<%= config.bin %> dev --no-hot-reload --timeout 120',
    '<%= config.bin %> dev --watch',
    '<%= config.bin %> dev admin-api --watch --down-on-exit',
  ]

  static override args = {service: Args.string({description: 'services to start (with their dependencies); default all'})}

  static override flags = {
    ...UpCommand.flags,
    'no-hot-reload': Flags.boolean({description: 'run the images as built, without source mounts and reload'}),
    watch: Flags.boolean({description: 'stay attached and sync changes into the containers (develop.watch) instead of bind-mounting sources', allowNo: true, exclusive: ['ui']}),
    'down-on-exit': Flags.boolean({description: 'with --watch: stop the stack when the session ends (default: it keeps running)'}),
  }

  // oclif copies a command's own static properties only: strict must be restated here.
  static override strict = false

  protected readonly mode = 'dev' as const

  async run(): Promise<void> {
    const {flags, argv} = await this.parse(Dev)
    const watch = flags.watch ?? this.openWorkspace(flags).config.dev?.watch ?? false
    if (watch && flags['no-hot-reload']) throw new TtaError('--watch and --no-hot-reload cannot be combined: watch mode is how sources reach the containers', ExitCode.badInput)
    if (flags['down-on-exit'] && !watch) throw new TtaError('--down-on-exit only applies to a watch session', ExitCode.badInput, 'add --watch')
    const up = await this.runUp(flags, argv as string[], {watch})
    if (watch) await this.watchSession(up, flags['down-on-exit'])
  }

  private async watchSession(up: UpSession, downOnExit: boolean): Promise<void> {
    const {conn, loaded} = up
    const tty = Boolean(process.stdout.isTTY && process.stdin.isTTY) && !process.env.CI
    const urls = Object.fromEntries(up.services.map((name) => [name, serviceUrls(loaded.project.services[name] as Service)]))
    let quit!: () => void
    const quitting = new Promise<void>((resolve) => (quit = resolve))
    const session: WatchSession = new WatchSession(conn, loaded, {services: up.services, host: up.host, emit: (event) => {
      if (!tty && event.type === 'state') view.note(`${event.service}: ${event.state}${event.health ? ` (${event.health})` : ''}`)
      else view.event(event)
    }})
    const view: SessionView = new SessionView({
      tty,
      services: up.services,
      urls,
      statuses: () => session.statuses(),
      paused: () => session.isPaused,
      onCommand: (command) => this.onCommand(command, session, view, quit),
    })
    const controller = new AbortController()
    setMaxListeners(0, controller.signal)
    // Ctrl-C ends the session like q: the stack keeps running unless --down-on-exit.
    const interrupt = listenForInterrupt(() => quit())
    const api = await openEngineApi()
    view.start()
    try {
      await session.start()
      if (session.watched.length === 0) view.note('no started service has develop.watch rules: only logs are shown')
      const logs = followLogs(api, {
        project: loaded.project.name,
        services: [],
        query: {tail: 0},
        keep: () => true,
        signal: controller.signal,
        onSource: (source) => view.registerSource(source),
        onLine: (line, source) => view.logLine(line, source),
      }).catch((error: Error) => {
        if (!controller.signal.aborted) view.note(chalk.yellow(`logs stopped: ${error.message}`))
      })
      await quitting
      session.close()
      controller.abort()
      await logs
      await view.flush()
    } finally {
      session.close()
      controller.abort()
      view.close()
      api.close()
      interrupt.dispose()
    }
    const project = loaded.project.name
    if (downOnExit) {
      const stopped = await stop(conn, project, [], () => undefined)
      process.stdout.write(`watch session ended; --down-on-exit stopped ${stopped.length} container${stopped.length === 1 ? '' : 's'} of project ${project} (their data is kept; \`tta dev --watch\` starts them again)\n`)
    } else {
      process.stdout.write(`watch session ended; the stack keeps running (project ${project}): \`tta stop\` stops it, \`tta dev --watch\` attaches again\n`)
    }
  }

  private onCommand(command: KeyCommand, session: WatchSession, view: SessionView, quit: () => void): void {
    switch (command.type) {
      case 'quit':
        quit()
        break
      case 'restart':
        view.note(`${command.service}: restarting`)
        void session.restart(command.service)
        break
      case 'rebuild':
        void session.rebuild(command.service)
        break
      case 'pause':
        if (session.isPaused) session.resume()
        else session.pause()
        break
      case 'status':
        view.printStatus()
        break
      case 'open':
        void openUrl(command.url).then((opened) => view.note(opened ? `opened ${command.url}` : `open ${command.url} in a browser (no opener found here)`))
        break
      case 'filter':
        break
    }
  }
}

/** The platform's URL opener, by argv; false when there is none (a container, a server). */
async function openUrl(url: string): Promise<boolean> {
  const {execa} = await import('execa')
  const opener = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open'
  const result = await execa(opener, [url], {reject: false, stdio: 'ignore', detached: true})
  return result.exitCode === 0
}
