import {Command, Flags} from '@oclif/core'

import {ExitCode, InputErrors, TtaError} from './errors.js'
import {configureColor, renderError} from './ui/output.js'
import {openWorkspace, type Workspace} from './workspace/workspace.js'

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
      description: 'compose project name (default: tta.config.yaml projectName, else "tta")',
      helpGroup: 'GLOBAL',
    }),
  }

  override async init(): Promise<void> {
    configureColor()
    await super.init()
  }

  protected openWorkspace(flags: {workspace?: string}): Workspace {
    return openWorkspace(process.cwd(), flags.workspace)
  }

  protected override async catch(error: Error & {exitCode?: number; oclif?: {exit?: number}}): Promise<unknown> {
    if (error instanceof TtaError) {
      process.stderr.write(renderError(error) + '\n')
      return this.exit(error.exitCode)
    }
    // oclif's own parse errors (unknown flag, bad option) are bad input: exit 2, no stack.
    if (error.oclif?.exit !== undefined) {
      if (error.oclif.exit === 0) return super.catch(error)
      process.stderr.write(renderError(new TtaError(error.message, ExitCode.badInput)) + '\n')
      return this.exit(ExitCode.badInput)
    }
    if (process.env.TTA_DEBUG) process.stderr.write(`${error.stack}\n`)
    process.stderr.write(renderError(new TtaError(`unexpected error: ${error.message}`)) + '\n')
    return this.exit(ExitCode.failed)
  }
}

export {InputErrors}
