import {Command, Flags} from '@oclif/core'

import {InputErrors} from '../errors.js'
import {configureColor, renderFailure} from '../ui/output.js'
import {openWorkspace, type Workspace} from '../workspace/workspace.js'

/**
 * Every tta command: the global flags of the CLI contract, and one place that turns errors into
 * a clear message plus the contract's exit code (never a stack trace unless TTA_DEBUG is set).
 */
export abstract class TtaCommand extends Command {
  static override baseFlags = {
    workspace: Flags.string({
      description: 'TTA workspace root (default: nearest tta.config.yaml, else git root, else cwd)',
      helpGroup: 'GLOBAL',
    }),
    'project-name': Flags.string({
      description: 'compose project name (default: tta.config.yaml projectName, else "tta", or "tta-<dir>" in a linked git worktree)',
      helpGroup: 'GLOBAL',
    }),
    // bin/run.js reads it before anything loads (it sets DEBUG=tta:*); declared here for help and parsing.
    debug: Flags.boolean({description: 'show the engine calls and commands tta runs, on stderr (for bug reports)', helpGroup: 'GLOBAL'}),
  }

  override async init(): Promise<void> {
    configureColor()
    await super.init()
  }

  protected openWorkspace(flags: {workspace?: string}): Workspace {
    return openWorkspace(process.cwd(), flags.workspace)
  }

  protected override async catch(error: Error & {exitCode?: number; oclif?: {exit?: number}}): Promise<unknown> {
    // oclif's own exits (help, version) are not failures.
    if (error.oclif?.exit === 0) return super.catch(error)
    const {text, exitCode} = renderFailure(error, {command: this.id?.replaceAll(':', ' ')})
    process.stderr.write(text + '\n')
    return this.exit(exitCode)
  }
}

export {InputErrors}
