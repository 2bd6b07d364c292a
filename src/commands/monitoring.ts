import {Args} from '@oclif/core'

import {UpCommand} from '../cli/up-command.js'

export default class Monitoring extends UpCommand {
  static override summary = 'Start the monitoring stack (Prometheus, Alertmanager, Grafana, Loki, exporters).'

  static override examples = ['<%= config.bin %> monitoring']

  static override args = {service: Args.string({description: 'services to start (with their dependencies); default all'})}

  static override flags = {...UpCommand.flags}

  // oclif copies a command's own static properties only: strict must be restated here.
  static override strict = false

  protected readonly mode = 'monitoring' as const

  async run(): Promise<void> {
    const {flags, argv} = await this.parse(Monitoring)
    await this.runUp(flags, argv as string[])
  }
}
