/**
 * A reader of newline-delimited JSON (the engine's event and progress streams): each object goes
 * to `onObject` once its line is complete, however the chunks split it; a line that is not a JSON
 * object is skipped. `end()` reads a last line that had no newline.
 */
export function jsonLines<T>(onObject: (value: T) => void): {push(chunk: Buffer | string): void; end(): void} {
  let rest = ''
  const handle = (line: string): void => {
    if (line.trim() === '') return
    let value: unknown
    try {
      value = JSON.parse(line)
    } catch {
      return
    }
    if (value !== null && typeof value === 'object') onObject(value as T)
  }
  return {
    push(chunk) {
      const lines = (rest + chunk.toString()).split('\n')
      rest = lines.pop() ?? ''
      for (const line of lines) handle(line)
    },
    end() {
      handle(rest)
      rest = ''
    },
  }
}
