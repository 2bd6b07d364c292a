import {Args} from '@oclif/core'
import chalk from 'chalk'

import {TtaCommand} from '../cli/base-command.js'
import {connectEngine} from '../docker/client.js'
import {stop} from '../engine/stop.js'
import {ExitCode, TtaError} from '../errors.js'
import {seconds} from '../ui/format.js'
import {projectNameFor} from '../workspace/project.js'
import {refuseInvalidServiceNames} from '../compose/project-name.js'

export default class Stop extends TtaCommand {
  static override summary = 'Stop the stack (or some services) in reverse dependency order.'

  static override description = 'Dependents stop before what they depend on; containers, volumes and data are kept. `tta dev` starts them again.'

  static override examples = ['<%= config.bin %> stop', '<%= config.bin %> stop admin-api clinical-api']

  static override strict = false

  static override args = {service: Args.string({description: 'services to stop; default all'})}

  async run(): Promise<void> {
    const {flags, argv} = await this.parse(Stop)
    const services = argv as string[]
    refuseInvalidServiceNames(services)
    const workspace = this.openWorkspace(flags)
    const project = projectNameFor({projectName: flags['project-name'], workspace})
    const conn = await connectEngine()
    const t0 = Date.now()
    const touched = await stop(conn, project, services, (e) => {
      if (e.status !== 'stopping') process.stderr.write(`${chalk.dim(`[${seconds(e.elapsedMs).padStart(6)}]`)} ${e.container}  ${e.status}\n`)
    })
    const missing = services.filter((s) => !touched.some((c) => c.service === s))
    if (missing.length > 0) throw new TtaError(`no containers for: ${missing.join(', ')}`, ExitCode.badInput, `see \`docker compose -p ${project} ps -a\``)
    process.stdout.write(touched.length === 0 ? 'nothing to stop\n' : `${chalk.green('✔')} stopped ${touched.length} container(s) in ${seconds(Date.now() - t0)}\n`)
  }
}
