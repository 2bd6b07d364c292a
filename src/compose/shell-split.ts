/**
 * Split a `command:`/`entrypoint:` string into words the way Compose does (go-shellwords without
 * variable expansion): whitespace separates, single quotes are literal, a backslash escapes the
 * next character outside single quotes, and an unquoted `;`, `&`, `|`, `<` or `>` ends the
 * command: Compose silently drops the rest, and so does this (the caller warns).
 */

export interface SplitResult {
  words: string[]
  /** The text dropped after an unquoted shell operator, if any. */
  dropped?: string
}

const SPACE = /[ \t\r\n]/
const META = /[;&|<>]/

export function shellSplit(input: string): SplitResult {
  const words: string[] = []
  let buf = ''
  let inWord = false
  let single = false
  let double = false
  let escaped = false
  for (let i = 0; i < input.length; i++) {
    const c = input[i] as string
    if (escaped) {
      buf += c
      escaped = false
      inWord = true
      continue
    }
    if (c === '\\' && !single) {
      escaped = true
      continue
    }
    if (c === "'" && !double) {
      single = !single
      inWord = true
      continue
    }
    if (c === '"' && !single) {
      double = !double
      inWord = true
      continue
    }
    if (!single && !double) {
      if (SPACE.test(c)) {
        if (inWord) words.push(buf)
        buf = ''
        inWord = false
        continue
      }
      if (META.test(c)) {
        if (inWord) words.push(buf)
        return {words, dropped: input.slice(i)}
      }
    }
    buf += c
    inWord = true
  }
  if (escaped || single || double) throw new Error(`invalid command line string: ${JSON.stringify(input)}`)
  if (inWord) words.push(buf)
  return {words}
}
