import {Flags} from '@oclif/core'
import chalk from 'chalk'

import {backupSettings} from '../backup/settings.js'
import {BackupStore} from '../backup/store.js'
import {TtaCommand} from '../cli/base-command.js'
import {runBackup} from '../cli/backup-runner.js'
import {connectEngine, type EngineConnection} from '../docker/client.js'
import {clean, planClean} from '../engine/stop.js'
import {bytes, table} from '../ui/format.js'
import {confirm} from '../ui/confirm.js'
import {ExitCode, TtaError} from '../errors.js'
import {projectNameFor} from '../workspace/project.js'
import type {Workspace} from '../workspace/workspace.js'

export default class Clean extends TtaCommand {
  static override summary = "Remove the project's containers and networks (and, if asked, volumes and images)."

  static override description =
    'Only resources carrying this project\'s com.docker.compose.project label are removed, never anything matched ' +
    'by name. Lists exactly what it will remove (volumes with their size) and asks first; -y answers yes. With --volumes on a ' +
    'terminal it also offers a backup first (tta backup, stopped services included); -y skips that question and the backup.'

  static override examples = ['<%= config.bin %> clean --dry-run', '<%= config.bin %> clean --volumes -y']

  static override flags = {
    volumes: Flags.boolean({description: 'also remove named volumes: THIS DELETES THE DATABASES'}),
    images: Flags.boolean({description: 'also remove images tta built for this project'}),
    'dry-run': Flags.boolean({description: 'list what would be removed and stop'}),
    yes: Flags.boolean({char: 'y', description: 'do not ask for confirmation'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(Clean)
    const workspace = this.openWorkspace(flags)
    const project = projectNameFor({projectName: flags['project-name'], workspace})
    const conn = await connectEngine()
    const items = await planClean(conn, project, {volumes: flags.volumes, images: flags.images})
    if (items.length === 0) {
      process.stdout.write(`nothing to remove for project ${project}\n`)
      return
    }
    const rows = items.map((i) => [i.kind, i.name, i.kind === 'volume' || i.kind === 'image' ? bytes(i.size) : (i.detail ?? '')])
    process.stdout.write(`${flags['dry-run'] ? 'Would remove' : 'Will remove'} (project ${project}):\n${table(['KIND', 'NAME', 'SIZE/STATE'], rows)}\n`)
    if (flags['dry-run']) return
    if (!flags.yes) {
      const volumes = items.filter((i) => i.kind === 'volume').length
      const ok = await confirm(`Remove these ${items.length} resources${volumes > 0 ? `, including ${volumes} volume(s) and their data` : ''}?`)
      if (!ok) {
        process.stdout.write('nothing removed\n')
        return
      }
      // Past confirm() there is a terminal: offer a backup of what is about to be deleted (-y never asks).
      if (volumes > 0 && (await confirm('Back up the databases and volumes first (tta backup)?'))) {
        await this.backupFirst(workspace, project, conn)
      }
    }
    let removed = 0
    await clean(conn, project, items, () => removed++)
    process.stdout.write(`${chalk.green('✔')} removed ${removed} resource(s)\n`)
  }

  private async backupFirst(workspace: Workspace, project: string, conn: EngineConnection): Promise<void> {
    const store = new BackupStore(backupSettings(workspace, {}).dir)
    try {
      // offline: stopped services' volumes are copied as files, so a stopped stack is backed up too.
      const {manifest, dir} = await runBackup({conn, project, store, reason: 'before clean', offline: true, ttaVersion: this.config.version, readyTimeoutMs: 300_000})
      if (!manifest.complete) throw new Error(`partial: ${manifest.failed.map((f) => `${f.service}: ${f.error}`).join('; ')}`)
      process.stdout.write(`${chalk.green('✔')} backup ${manifest.id} in ${dir} (after the next tta dev: tta restore ${manifest.id})\n`)
    } catch (error) {
      const exitCode = error instanceof TtaError && error.exitCode === ExitCode.interrupted ? ExitCode.interrupted : ExitCode.failed
      throw new TtaError(`the backup did not complete, nothing was removed: ${(error as Error).message}`, exitCode, 'run tta clean --volumes again and answer no to the backup question to remove without one')
    }
  }
}
