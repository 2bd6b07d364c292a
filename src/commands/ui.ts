import {Flags} from '@oclif/core'

import {TtaCommand} from '../cli/base-command.js'
import {DEFAULT_UI_PORT} from '../dashboard/model.js'
import {serveDashboard} from '../ui/dashboard-session.js'

export default class Ui extends TtaCommand {
  static override summary = 'A live dashboard of the environment in the browser: health, logs, restart/stop/start/rebuild, backups, alerts.'

  static override description =
    'Serves one page on 127.0.0.1 showing every service of the project (state, health, probe latency, CPU and memory, ' +
    'restarts, URLs, dependencies, last failure with its log tail) and live logs, with buttons for the actions. Updates ' +
    'are pushed (server-sent events) on every engine event and every 2 s probe round. The printed URL carries a per-run ' +
    'token that the API requires; JSON endpoints for scripts: docs/ui.md.'

  static override examples = ['<%= config.bin %> ui', '<%= config.bin %> ui --port 8080 --open', '<%= config.bin %> ui --secrets']

  static override flags = {
    port: Flags.integer({char: 'p', description: 'port to listen on (0 picks a free one)', default: DEFAULT_UI_PORT, min: 0, max: 65535}),
    bind: Flags.string({description: 'address to listen on', default: '127.0.0.1'}),
    open: Flags.boolean({description: 'open the page in the browser ($BROWSER, else the system opener)'}),
    secrets: Flags.boolean({description: "show the stack's generated passwords in the page (and leave them unmasked in logs)"}),
    'allow-host': Flags.string({description: 'also answer to this Host (NAME:PORT), e.g. a forwarded port\'s name (repeatable)', multiple: true, helpValue: 'HOST'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(Ui)
    const workspace = this.openWorkspace(flags)
    process.exitCode = await serveDashboard(
      {workspace, projectName: flags['project-name'], port: flags.port, bind: flags.bind, secrets: flags.secrets, allowHosts: flags['allow-host'], ttaVersion: this.config.version},
      {open: flags.open},
    )
  }
}
