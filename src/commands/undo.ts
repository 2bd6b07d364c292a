import {Flags} from '@oclif/core'
import chalk from 'chalk'

import {autoSnapshots} from '../backup/auto.js'
import {formatAge} from '../backup/duration.js'
import {checksumsOrRefuse, planRestore, restore} from '../backup/restore.js'
import {discoverTargets} from '../backup/targets.js'
import {interruptible} from '../cli/backup-runner.js'
import {connectEngine} from '../docker/client.js'
import {ExitCode, TtaError} from '../errors.js'
import {backupProgress, restoreTable} from '../ui/backup-progress.js'
import {confirm} from '../ui/confirm.js'
import {seconds} from '../ui/format.js'
import {UpCommand} from '../cli/up-command.js'
import {projectNameFor} from '../workspace/project.js'

export default class Undo extends UpCommand {
  static override summary = 'Restore the last automatic safety snapshot (taken before clean --volumes, a restore, or a datastore major-version change).'

  static override description =
    'Finds the newest auto snapshot of this project (tta backup --list shows them), checks its checksums, asks (-y answers yes), ' +
    'creates the services it holds if they are gone (after tta clean --volumes), and restores them. Undoing over existing data takes ' +
    'an auto snapshot of that data first, so a second tta undo undoes the undo.'

  static override examples = ['<%= config.bin %> undo', '<%= config.bin %> undo -y']

  // The up flags (build, strict-ports, ...) apply when undo has to create the services again.
  static override flags = {
    ...UpCommand.flags,
    yes: Flags.boolean({char: 'y', description: 'do not ask for confirmation'}),
    'no-snapshot': Flags.boolean({description: 'do not take an auto snapshot of the current data before restoring'}),
  }

  protected readonly mode = 'dev' as const

  async run(): Promise<void> {
    const {flags} = await this.parse(Undo)
    const workspace = this.openWorkspace(flags)
    const project = projectNameFor({projectName: flags['project-name'], workspace})
    const store = this.backupStore(workspace)
    const snapshot = autoSnapshots(store, project).pop()
    if (!snapshot) throw new TtaError(`nothing to undo: no auto snapshot of project ${project} in ${store.root}`, ExitCode.failed, 'tta takes one before clean --volumes, restore and datastore major-version changes')
    const services = Object.keys(snapshot.manifest.services).sort()
    const age = formatAge(Date.now() - Date.parse(snapshot.manifest.started))
    process.stdout.write(`Auto snapshot ${snapshot.id} of project ${project}, taken ${age} ago ${snapshot.manifest.reason}: ${services.join(', ')}\n`)
    if (!flags.yes && !(await confirm(`Overwrite the current data of ${services.join(', ')} with auto snapshot ${snapshot.id}?`))) {
      process.stdout.write('nothing restored\n')
      return
    }
    let conn = await connectEngine()
    const existing = await discoverTargets(conn.engine, project)
    const missing = services.filter((s) => !existing.has(s))
    if (missing.length > 0) {
      process.stderr.write(chalk.dim(`creating ${missing.join(', ')} first (their containers are gone)\n`))
      await this.runUp({...flags, from: undefined, 'no-snapshot': true, ui: false}, missing)
      conn = await connectEngine()
    }
    const plan = await planRestore(conn, project, snapshot, services)
    await checksumsOrRefuse(plan, () => undefined)
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
            // Freshly created services hold nothing worth a snapshot.
            safetyBackup: !flags['no-snapshot'] && missing.length === 0,
            ttaVersion: this.config.version,
            readyTimeoutMs: flags.timeout * 1000,
            signal,
            emit: (e) => progress.emit(e),
          }),
        'interrupted: the undo stopped part-way; run tta undo again',
      )
    } finally {
      progress.finish()
    }
    process.stdout.write(`\n${restoreTable(outcome.services)}\n`)
    const failed = outcome.services.filter((s) => !s.ok)
    if (failed.length > 0 || outcome.services.length < plan.items.length) {
      throw new TtaError(`undo (restore of auto snapshot ${snapshot.id}) failed at ${failed.map((f) => f.service).join(', ') || 'an early step'}`, ExitCode.failed, outcome.safetyBackup ? `the data before is in auto snapshot ${outcome.safetyBackup}` : 'see the message above')
    }
    process.stdout.write(`\n${chalk.green('✔')} restored auto snapshot ${snapshot.id} in ${seconds(Date.now() - t0)}${outcome.safetyBackup ? ` (the data before it: auto snapshot ${outcome.safetyBackup}; tta undo again goes back)` : ''}\n`)
  }
}
