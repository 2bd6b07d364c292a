import chalk from 'chalk'

import {InputErrors, type TtaError} from '../errors.js'

/** Colours only on a TTY without NO_COLOR, so CI logs and pipes get plain lines. */
export function configureColor(stream: NodeJS.WriteStream = process.stdout): void {
  if (process.env.FORCE_COLOR) return
  if (process.env.NO_COLOR !== undefined || !stream.isTTY) chalk.level = 0
}

export function renderError(error: TtaError): string {
  const lines =
    error instanceof InputErrors
      ? [chalk.red(`✖ ${error.errors.length} problem${error.errors.length === 1 ? '' : 's'} in the input:`), ...error.errors.map((e) => `  ${e.message}`)]
      : [chalk.red(`✖ ${error.message}`)]
  if (error.hint) lines.push(chalk.dim(`  → ${error.hint}`))
  return lines.join('\n')
}

export function writeJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n')
}
