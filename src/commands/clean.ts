import {Flags} from '@oclif/core'
import chalk from 'chalk'

import {backupSettings} from '../backup/settings.js'
import {BackupStore} from '../backup/store.js'
import {takeAutoSnapshot} from '../backup/auto.js'
import {TtaCommand} from '../cli/base-command.js'
import {interruptible} from '../cli/backup-runner.js'
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
    'by name. Lists exactly what it will remove (volumes with their size) and asks first; -y answers yes. Before removing volumes ' +
    'it takes an automatic safety snapshot (label auto, the last 3 kept, stopped services included), also with -y: `tta undo` ' +
    'brings the data back. --no-snapshot skips it.'

  static override examples = ['<%= config.bin %> clean --dry-run', '<%= config.bin %> clean --volumes -y']

  static override flags = {
    volumes: Flags.boolean({description: 'also remove named volumes: THIS DELETES THE DATABASES'}),
    images: Flags.boolean({description: 'also remove images tta built for this project'}),
    'dry-run': Flags.boolean({description: 'list what would be removed and stop'}),
    'no-snapshot': Flags.boolean({description: 'do not take the automatic safety snapshot before removing volumes'}),
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
    }
    if (items.some((i) => i.kind === 'volume') && !flags['no-snapshot']) await this.snapshotFirst(workspace, project, conn)
    let removed = 0
    await clean(conn, project, items, () => removed++)
    process.stdout.write(`${chalk.green('✔')} removed ${removed} resource(s)\n`)
  }

  private async snapshotFirst(workspace: Workspace, project: string, conn: EngineConnection): Promise<void> {
    const store = new BackupStore(backupSettings(workspace, {}).dir, {workspaceRoot: workspace.root})
    try {
      const result = await interruptible(
        (signal) => takeAutoSnapshot({conn, project, store, reason: 'before clean --volumes', ttaVersion: this.config.version, readyTimeoutMs: 300_000, signal}),
        'interrupted: the unfinished snapshot was removed; nothing was removed',
      )
      if (result.taken) process.stdout.write(`${chalk.green('✔')} auto snapshot ${result.id} of ${result.services.join(', ')} (tta undo brings it back)\n`)
      else process.stdout.write(chalk.dim(`no auto snapshot: ${result.why}\n`))
    } catch (error) {
      if (error instanceof TtaError && error.exitCode === ExitCode.interrupted) throw error
      throw new TtaError(`the auto snapshot did not complete, nothing was removed: ${(error as Error).message}`, ExitCode.failed, 'fix the cause, or pass --no-snapshot to remove the volumes without one')
    }
  }
}
