import {Args, Flags} from '@oclif/core'
import chalk from 'chalk'

import {formatAge} from '../backup/duration.js'
import {checksumsOrRefuse, planRestore, restore, type RestorePlan} from '../backup/restore.js'
import {backupSettings} from '../backup/settings.js'
import {BackupStore} from '../backup/store.js'
import {TtaCommand} from '../cli/base-command.js'
import {interruptible} from '../cli/backup-runner.js'
import {connectEngine} from '../docker/client.js'
import {ExitCode, TtaError} from '../errors.js'
import {backupProgress, restoreTable} from '../ui/backup-progress.js'
import {confirm} from '../ui/confirm.js'
import {bytes, seconds, table} from '../ui/format.js'
import {projectNameFor} from '../workspace/project.js'
import {refuseInvalidServiceNames} from '../compose/project-name.js'

export default class Restore extends TtaCommand {
  static override summary = 'Restore a backup (all its services, or the ones named), after checking it and taking a safety backup.'

  static override description =
    'Checks every file of the backup against its sha256 first and refuses a damaged backup before touching anything. Shows what ' +
    'will be overwritten and asks (-y answers yes). Then takes a safety backup of the current state, stops the services that ' +
    'depend on the restored ones, restores each service (postgres: drop and recreate each database from its dump; redis: the RDB; ' +
    'neo4j: neo4j-admin database load; volumes: emptied and unpacked), waits until it is ready, checks it (row counts, key counts, ' +
    'file counts) and starts the dependents again. ID may be `latest`.'

  static override examples = ['<%= config.bin %> restore latest', '<%= config.bin %> restore 20261121T224800Z postgres -y']

  static override strict = false

  static override args = {
    id: Args.string({description: 'backup id (see tta backup --list), or latest', required: true}),
    service: Args.string({description: 'services to restore; default every service in the backup'}),
  }

  static override flags = {
    yes: Flags.boolean({char: 'y', description: 'do not ask for confirmation'}),
    dir: Flags.string({description: 'backup directory (default: tta.config.yaml backup.dir, else <workspace>/.tta/backups)'}),
    'no-safety-backup': Flags.boolean({description: 'skip the auto snapshot of the current state taken before restoring', aliases: ['no-snapshot']}),
    timeout: Flags.integer({description: 'seconds to wait for each restored service to be ready', default: 300, min: 1}),
  }

  async run(): Promise<void> {
    const {flags, argv} = await this.parse(Restore)
    const [id, ...services] = argv as string[]
    refuseInvalidServiceNames(services)
    const workspace = this.openWorkspace(flags)
    const project = projectNameFor({projectName: flags['project-name'], workspace})
    const store = new BackupStore(backupSettings(workspace, flags).dir)
    const stored = store.get(id ?? '', project)
    const conn = await connectEngine()
    const plan = await planRestore(conn, project, stored, services)

    const checking = backupProgress({verb: 'checking'})
    try {
      await interruptible((signal) => checksumsOrRefuse(plan, (e) => checking.emit(e), signal), 'interrupted: nothing was changed')
    } finally {
      checking.finish()
    }
    process.stderr.write(`${chalk.green('✔')} checksums of backup ${stored.id} match its manifest\n`)
    process.stdout.write(describe(plan))
    if (!flags.yes) {
      const ok = await confirm(`Overwrite the current data of ${plan.items.map((i) => i.service).join(', ')} with backup ${stored.id}?`)
      if (!ok) {
        process.stdout.write('nothing restored\n')
        return
      }
    }

    const progress = backupProgress({verb: 'restoring'})
    const t0 = Date.now()
    let outcome
    try {
      outcome = await interruptible(
        (signal) =>
          restore(plan, {
            conn,
            project,
            store,
            safetyBackup: !flags['no-safety-backup'],
            ttaVersion: this.config.version,
            readyTimeoutMs: flags.timeout * 1000,
            signal,
            emit: (e) => progress.emit(e),
          }),
        'interrupted: the restore stopped part-way; run it again, or restore the safety backup (tta backup --list)',
      )
    } finally {
      progress.finish()
    }
    process.stdout.write(`\n${restoreTable(outcome.services)}\n`)
    for (const problem of outcome.restartProblems) process.stdout.write(chalk.yellow(`! did not come back: ${problem}\n`))
    const back = outcome.safetyBackup ? `tta restore ${outcome.safetyBackup} -y` : undefined
    const failed = outcome.services.filter((s) => !s.ok)
    if (failed.length > 0 || outcome.services.length < plan.items.length) {
      throw new TtaError(
        `restore of backup ${stored.id} failed at ${failed.map((f) => f.service).join(', ') || 'an early step'}`,
        ExitCode.failed,
        back ? `the state before the restore is in safety backup ${outcome.safetyBackup}: ${back}` : 'no safety backup was taken (--no-safety-backup)',
      )
    }
    process.stdout.write(`\n${chalk.green('✔')} restored backup ${stored.id} in ${seconds(Date.now() - t0)}${back ? ` (safety backup ${outcome.safetyBackup}; to undo: ${back})` : ''}\n`)
    if (outcome.restartProblems.length > 0) throw new TtaError('restored, but some dependents did not get ready again', ExitCode.failed, 'see `tta status` and `tta logs`')
  }
}

/** What a restore will overwrite, before the question. */
function describe(plan: RestorePlan): string {
  const m = plan.backup.manifest
  const rows = plan.items.map((item) => {
    const what = item.entry.files.map((f) => (f.database ? `database ${f.database}` : f.volume ? `volume ${f.volume}` : f.file)).join(', ')
    const now = item.target.state === 'running' ? item.target.state : chalk.yellow(item.target.state)
    const image = item.target.image === item.entry.image ? '' : chalk.yellow(` (backup made with ${item.entry.image})`)
    return [item.service, item.entry.strategy, what, bytes(item.entry.bytes), now + image]
  })
  const lines = [
    `Backup ${m.id} of project ${m.project}, taken ${formatAge(Date.now() - Date.parse(m.started))} ago (${m.started})${m.complete ? '' : chalk.yellow(', partial')}:`,
    table(['SERVICE', 'STRATEGY', 'REPLACES', 'SIZE', 'NOW'], rows),
  ]
  if (plan.dependents.length > 0) lines.push(`Stopped meanwhile and started again: ${plan.dependents.map((d) => d.service).join(', ')}`)
  return lines.join('\n') + '\n'
}
