import chalk from 'chalk'

import {debugEnabled} from '../debug.js'
import {connectionReason, isConnectionError} from '../engine/engine-errors.js'
import {ExitCode, InputErrors, TtaError} from '../errors.js'
import {isParseErrorText, usageFromParseError} from './usage-error.js'

/** Colours only on a TTY without NO_COLOR, so CI logs and pipes get plain lines. */
export function configureColor(stream: NodeJS.WriteStream = process.stdout): void {
  if (process.env.FORCE_COLOR) return
  if (process.env.NO_COLOR !== undefined || !stream.isTTY) chalk.level = 0
}

/**
 * One `✖` line per error (a single input problem included), then the hint. oclif's own parse
 * errors arrive as their multi-line text and are reworded to one line naming the flag.
 */
export function renderError(error: TtaError, command?: string): string {
  if (!(error instanceof InputErrors) && error.hint === undefined && isParseErrorText(error.message)) {
    const usage = usageFromParseError(error.message, command)
    return renderError(new TtaError(usage.message, error.exitCode, usage.hint))
  }
  const lines =
    error instanceof InputErrors && error.errors.length > 1
      ? [chalk.red(`✖ ${error.errors.length} problem${error.errors.length === 1 ? '' : 's'} in the input:`), ...error.errors.map((e) => `  ${e.message}`)]
      : [chalk.red(`✖ ${error.message}`)]
  if (error.hint) lines.push(chalk.dim(`  → ${error.hint}`))
  return lines.join('\n')
}

const DEBUG_HINT = 'run it again with --debug to see the engine calls (or DEBUG=tta:*)'

/**
 * Any error as the user sees it, and the exit code it means: a TtaError as it is; a flag parser's
 * error (it carries `oclif.exit`) as bad input; anything else as "unexpected", with its stack only
 * under --debug (or TTA_DEBUG). Failures that may come from the engine point at --debug.
 * `context.command` (the command's words) makes a flag error point at that command's help.
 */
export function renderFailure(error: Error & {oclif?: {exit?: number}}, context: {command?: string} = {}): {text: string; exitCode: number} {
  const debugging = debugEnabled('engine') || Boolean(process.env.TTA_DEBUG)
  const withHint = (text: string, exitCode: number): {text: string; exitCode: number} => ({
    text: exitCode === ExitCode.badInput || exitCode === ExitCode.interrupted || debugging ? text : `${text}\n${chalk.dim(`  ${DEBUG_HINT}`)}`,
    exitCode,
  })
  if (error instanceof TtaError) return withHint(renderError(error, context.command), error.exitCode)
  if (error.oclif?.exit !== undefined) return {text: renderError(new TtaError(error.message, ExitCode.badInput), context.command), exitCode: ExitCode.badInput}
  // The engine went away in the middle of a command (dockerd stopped, the laptop slept).
  if (isConnectionError(error)) {
    const lost = new TtaError(`the Docker engine stopped answering (${connectionReason(error)})`, ExitCode.engineUnreachable, 'start the Docker engine again, then run the command again; `tta doctor` checks it')
    return withHint(renderError(lost), lost.exitCode)
  }
  const stack = debugging && error.stack ? `${error.stack}\n` : ''
  return withHint(stack + renderError(new TtaError(`unexpected error: ${error.message}`)), ExitCode.failed)
}

export function writeJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n')
}
