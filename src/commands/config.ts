import {Flags} from '@oclif/core'
import {stringify} from 'yaml'

import {TtaCommand} from '../cli/base-command.js'
import {composeView} from '../compose/view.js'
import {writeJson} from '../ui/output.js'
import {loadWorkspaceProject, MODES, projectNameFor} from '../workspace/project.js'
import {withRecordedPorts} from '../workspace/port-state.js'
import {missingSecrets, UNGENERATED_SECRET} from '../workspace/secrets.js'

export default class Config extends TtaCommand {
  static override summary = 'Print the resolved compose model (interpolated, merged, validated).'

  static override description =
    'Loads the bundled compose files for a mode (plus composeFiles from tta.config.yaml), or the files given with -f, ' +
    'exactly as Docker Compose v2 would, and prints the result in Compose\'s own shape. Errors name file:line:column ' +
    'and the key, and exit with code 2.'

  static override examples = [
    '<%= config.bin %> config',
    '<%= config.bin %> config --mode full --format json',
    '<%= config.bin %> config -f docker-compose.yml -f override.yml',
    '<%= config.bin %> config --services',
  ]

  static override flags = {
    mode: Flags.string({description: 'which bundled files to load', options: [...MODES], default: 'dev'}),
    file: Flags.string({char: 'f', description: 'compose file to load instead of the bundled ones (repeatable)', multiple: true}),
    format: Flags.string({description: 'output format', options: ['yaml', 'json'], default: 'yaml'}),
    services: Flags.boolean({description: 'print only the service names'}),
    profile: Flags.string({description: 'enable a compose profile (repeatable)', multiple: true}),
    'no-hot-reload': Flags.boolean({description: 'leave out the hot-reload overlay (modes dev and full)'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(Config)
    const workspace = this.openWorkspace(flags)
    // The bundled files require the secrets `tta dev` generates. A read-only command writes
    // nothing (no .env appears wherever it runs): the missing ones are shown as a placeholder.
    const missing = flags.file ? [] : missingSecrets(workspace.envFile)
    if (missing.length > 0) process.stderr.write(`note: ${missing.join(', ')} not generated yet (the first tta dev writes them into ${workspace.envFile}); shown as ${UNGENERATED_SECRET}\n`)
    const loaded = loadWorkspaceProject({
      workspace,
      cwd: process.cwd(),
      mode: flags.mode as (typeof MODES)[number],
      hotReload: !flags['no-hot-reload'],
      files: flags.file,
      projectName: flags['project-name'],
      profiles: flags.profile,
      // The ports `tta dev` allocated for this checkout, so the model shown is the one that runs.
      environment: {
        ...(flags.file ? process.env : withRecordedPorts(workspace, projectNameFor({projectName: flags['project-name'], workspace}), process.env)),
        ...Object.fromEntries(missing.map((name) => [name, UNGENERATED_SECRET])),
      },
    })
    for (const warning of loaded.warnings) process.stderr.write(`warning: ${warning}\n`)
    if (flags.services) {
      process.stdout.write(Object.keys(loaded.project.services).sort().join('\n') + '\n')
      return
    }
    const view = composeView(loaded.project)
    if (flags.format === 'json') writeJson(view)
    else process.stdout.write(stringify(view, {lineWidth: 0}))
  }
}
