/**
 * oclif's command-line parse errors, reworded to the CLI's error shape: one line naming the flag or
 * argument, and the usual hint. oclif writes them over several lines ("Parsing --timeout \n\t...",
 * "The following errors occurred:\n  ...", "See more help with --help"), some twice over (each side
 * of an exclusive pair).
 */

const SEE_HELP = /\n?See more help with --help\s*$/
// oclif colours parts of some messages itself; the rendered line is coloured by renderError.
// eslint-disable-next-line no-control-regex
const ANSI = /\u001B\[[0-9;]*m/g

export interface Usage {
  message: string
  hint: string
}

/** True for the texts oclif's parser produces (they end with its help pointer, or name a flag's missing value). */
export function isParseErrorText(text: string): boolean {
  return SEE_HELP.test(text) || /^Flag --[\w-]+ expects a value$/.test(text.trim())
}

/** One line for an oclif parse error text, plus a hint pointing at the command's --help (`command`: its words, e.g. "backup"). */
export function usageFromParseError(text: string, command?: string): Usage {
  const plain = text.replace(ANSI, '').replace(SEE_HELP, '').trim()
  return {message: reword(plain), hint: command ? `\`tta ${command} --help\` lists its flags and arguments` : 'see --help for the flags and arguments this command takes'}
}

function reword(text: string): string {
  let m = /^Parsing --([\w-]+)\s*\n\s*([\s\S]*)$/.exec(text)
  if (m) return `--${m[1]}: ${lowerFirst(oneLine(m[2] ?? ''))}`

  m = /^Nonexistent flags?: (.*)$/.exec(text)
  if (m) return `unknown flag${(m[1] ?? '').includes(',') ? 's' : ''} ${m[1]}`

  m = /^Flag (--[\w-]+) expects a value$/.exec(text)
  if (m) return `${m[1]} expects a value`

  m = /^Expected --([\w-]+)=([\s\S]*) to be one of: (.*)$/.exec(text)
  if (m) return `--${m[1]}: "${m[2]}" is not one of ${m[3]}`

  m = /^Missing (\d+) required args?:\n([\s\S]*)$/.exec(text)
  if (m) {
    // The list below is `name  description`, descriptions wrapping onto indented lines.
    const names = (m[2] ?? '')
      .split('\n')
      .filter((line) => /^\S/.test(line))
      .map((line) => line.split(/\s+/)[0] ?? '')
      .filter((name) => name !== '' && name !== 'Note:')
    return `missing required argument${names.length === 1 ? '' : 's'} ${names.map((n) => n.toUpperCase()).join(', ')}`
  }

  m = /^Unexpected arguments?: (.*)$/.exec(text)
  if (m) return `unexpected argument${(m[1] ?? '').includes(',') ? 's' : ''}: ${m[1]}`

  m = /^The following errors? occurred:\n([\s\S]*)$/.exec(text)
  if (m) {
    const reasons = (m[1] ?? '').split('\n').map((line) => line.trim()).filter(Boolean)
    // `--a=x cannot also be provided when using --b` comes once from each side of the pair.
    const pairs = new Map<string, string>()
    const other: string[] = []
    for (const reason of reasons) {
      const clash = /^--([\w-]+)=.* cannot also be provided when using --([\w-]+)$/.exec(reason)
      if (!clash) {
        other.push(reason)
        continue
      }
      const [a, b] = [clash[2] as string, clash[1] as string]
      const key = [a, b].sort().join(' ')
      if (!pairs.has(key)) pairs.set(key, `--${a} cannot be combined with --${b}`)
    }
    return [...pairs.values(), ...other].join('; ')
  }
  return oneLine(text)
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim()
}

function lowerFirst(text: string): string {
  return /^[A-Z][a-z]/.test(text) ? text[0]?.toLowerCase() + text.slice(1) : text
}
