import type {Hook} from '@oclif/core'

import {ExitCode, TtaError} from '../errors.js'
import {configureColor, renderError} from '../ui/output.js'

/**
 * oclif's `command_not_found` hook: instead of its " ›   Error: command x:y not found", one line
 * saying what was wrong with the command line, exit 2. oclif joins words into a command id
 * (`tta clean redis` asks for `clean:redis`), so the id tells apart a mistyped command, arguments
 * given to a command that takes none, and a global flag written before the command.
 */
const hook: Hook.CommandNotFound = async function (options) {
  configureColor(process.stderr)
  const error = explain(options.id, options.argv ?? [], options.config.commandIDs)
  process.stderr.write(renderError(error) + '\n')
  this.exit(ExitCode.badInput)
}

export default hook

export function explain(id: string, argv: readonly string[], commandIds: readonly string[]): TtaError {
  const words = id.split(':')
  const first = words[0] ?? ''
  if (first.startsWith('-')) {
    const command = argv.find((arg) => commandIds.includes(arg))
    const rest = argv.filter((arg) => arg !== command)
    return new TtaError(`${first} comes before the command`, ExitCode.badInput, `write the command first, then its flags: tta ${command ?? 'COMMAND'} ${[first, ...rest].join(' ')}`)
  }
  for (let n = words.length - 1; n > 0; n--) {
    const command = words.slice(0, n).join(':')
    if (commandIds.includes(command)) {
      const extra = [...words.slice(n), ...argv.filter((a) => !a.startsWith('-'))]
      return new TtaError(`unexpected argument${extra.length > 1 ? 's' : ''} for tta ${command}: ${extra.join(' ')}`, ExitCode.badInput, `tta ${command} takes no arguments; see tta ${command} --help`)
    }
  }
  const near = closest(first, commandIds.filter((c) => !c.includes(':')))
  return new TtaError(`unknown command "${first}"${near ? ` (did you mean ${near}?)` : ''}`, ExitCode.badInput, 'tta --help lists the commands')
}

/** The command within edit distance 2 of a typo, if one is. */
function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: {name: string; distance: number} | undefined
  for (const name of candidates) {
    const distance = editDistance(word, name)
    if (distance <= 2 && (!best || distance < best.distance)) best = {name, distance}
  }
  return best?.name
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({length: b.length + 1}, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    previous = current
  }
  return previous[b.length] ?? 0
}
