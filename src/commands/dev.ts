import {Args, Flags} from '@oclif/core'

import {UpCommand} from '../cli/up-command.js'

export default class Dev extends UpCommand {
  static override summary = 'Start the core TTA stack with hot reload and wait until every service is ready.'

  static override description =
    'Converges Docker to the bundled core + hot-reload compose files: pulls or builds missing images, creates or ' +
    'recreates only what changed, starts services in dependency order (independent ones in parallel), and waits ' +
    'until each one is ready (its healthcheck passes, else its port answers). Prints the URLs when done.'

  static override examples = ['<%= config.bin %> dev', '<%= config.bin %> dev admin-api --build', '<%= config.bin %> dev --no-hot-reload --timeout 120']

  static override args = {service: Args.string({description: 'services to start (with their dependencies); default all'})}

  static override flags = {
    ...UpCommand.flags,
    'no-hot-reload': Flags.boolean({description: 'run the images as built, without source mounts and reload'}),
  }

  // oclif copies a command's own static properties only: strict must be restated here.
  static override strict = false

  protected readonly mode = 'dev' as const

  async run(): Promise<void> {
    const {flags, argv} = await this.parse(Dev)
    await this.runUp(flags, argv as string[])
  }
}
