import {Flags} from '@oclif/core'
import chalk from 'chalk'

import {TtaCommand} from '../base-command.js'
import {connectEngine} from '../docker/client.js'
import {clean, planClean} from '../engine/stop.js'
import {bytes, table} from '../ui/format.js'
import {confirm} from '../ui/confirm.js'
import {projectNameFor} from '../workspace/project.js'

export default class Clean extends TtaCommand {
  static override summary = "Remove the project's containers and networks (and, if asked, volumes and images)."

  static override description =
    'Only resources carrying this project\'s com.docker.compose.project label are removed, never anything matched ' +
    'by name. Lists exactly what it will remove (volumes with their size) and asks first; -y answers yes.'

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
    }
    let removed = 0
    await clean(conn, project, items, () => removed++)
    process.stdout.write(`${chalk.green('✔')} removed ${removed} resource(s)\n`)
  }
}
