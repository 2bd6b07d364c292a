import {Args, Flags} from '@oclif/core'

import {UpCommand} from '../cli/up-command.js'

export default class Full extends UpCommand {
  static override summary = 'Start everything: the core stack with hot reload plus the monitoring stack.'

  static override examples = ['<%= config.bin %> full', '<%= config.bin %> full --timeout 600']

  static override args = {service: Args.string({description: 'services to start (with their dependencies); default all'})}

  static override flags = {
    ...UpCommand.flags,
    'no-hot-reload': Flags.boolean({description: 'run the images as built, without source mounts and reload'}),
  }

  // oclif copies a command's own static properties only: strict must be restated here.
  static override strict = false

  protected readonly mode = 'full' as const

  async run(): Promise<void> {
    const {flags, argv} = await this.parse(Full)
    await this.runUp(flags, argv as string[])
  }
}
