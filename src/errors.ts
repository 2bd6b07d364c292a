/** Exit codes from the CLI contract (DESIGN.md). */
export const ExitCode = {
  ok: 0,
  failed: 1,
  badInput: 2,
  engineUnreachable: 3,
  interrupted: 130,
} as const

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode]

/**
 * An error meant for the user: its message is printed as is (no stack), and the process exits
 * with `exitCode`. `hint` is an optional second line saying how to fix it.
 */
export class TtaError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCodeValue = ExitCode.failed,
    readonly hint?: string,
  ) {
    super(message)
    this.name = 'TtaError'
  }
}

/** Where in which file something is. Lines and columns are 1-based. */
export interface SourcePosition {
  file: string
  line: number
  column: number
}

/**
 * Bad input in a compose file, `.env` or `tta.config.yaml`. Rendered as
 * `file:line:column: keyPath: message`, exit code 2.
 */
export class InputError extends TtaError {
  constructor(
    readonly detail: string,
    readonly position?: SourcePosition,
    readonly keyPath?: string,
    hint?: string,
  ) {
    super(InputError.format(detail, position, keyPath), ExitCode.badInput, hint)
    this.name = 'InputError'
  }

  static format(detail: string, position?: SourcePosition, keyPath?: string): string {
    const where = position ? `${position.file}:${position.line}:${position.column}: ` : ''
    const key = keyPath ? `${keyPath}: ` : ''
    return `${where}${key}${detail}`
  }
}

/** Several input errors found in one pass; the loader reports all of them at once. */
export class InputErrors extends TtaError {
  constructor(
    readonly errors: InputError[],
    hint?: string,
  ) {
    super(errors.map((e) => e.message).join('\n'), ExitCode.badInput, hint)
    this.name = 'InputErrors'
  }
}
