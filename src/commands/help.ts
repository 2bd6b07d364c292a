import {Args, Flags, loadHelpClass} from '@oclif/core'

import {TtaCommand} from '../cli/base-command.js'
import {explain} from '../hooks/command-not-found.js'

/**
 * `tta help [COMMAND]`: oclif's help, as a tta command. It takes the global flags like every other
 * command (`tta help status --workspace .` is not an error), and a subject that is no command gets
 * tta's one-line message with the nearest command and exit 2, as `tta stat` does.
 */
export default class Help extends TtaCommand {
  static override summary = 'Show help for tta or one of its commands.'

  static override args = {
    command: Args.string({required: false, description: 'the command to explain'}),
  }

  static override flags = {
    'nested-commands': Flags.boolean({char: 'n', description: 'include every command in the list'}),
  }

  // Words after the first name a command ("tta help deploy staging"): oclif's help reads them all.
  static override strict = false

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(Help)
    const words = (argv as string[]).filter((arg) => !arg.startsWith('-'))
    const subject = words[0]
    if (subject !== undefined && !this.config.findCommand(subject) && !this.config.findTopic(subject)) {
      throw explain(subject, [], this.config.commandIDs)
    }
    const HelpClass = await loadHelpClass(this.config)
    await new HelpClass(this.config, {all: flags['nested-commands']}).showHelp(words)
  }
}
