import {randomBytes} from 'node:crypto'
import type {Transform, Writable} from 'node:stream'
import {pipeline} from 'node:stream/promises'

import {HashCounter, lastLines, type StreamResult} from '../streams.js'
import {StrategyError, type BackupContext} from './types.js'

export interface Captured {
  file: string
  bytes: number
  sha256: string
  result: StreamResult
}

/**
 * Streams a tool's stdout into `<backup>/<name>`: hashed and counted on the way, written as
 * `.partial`, renamed only when the tool exited 0 and `validate` found nothing wrong.
 */
export async function captureToFile(
  ctx: BackupContext,
  name: string,
  what: string,
  run: (stdout: Writable) => Promise<StreamResult>,
  options: {before?: Transform; through?: Transform; validate?: () => string | undefined} = {},
): Promise<Captured> {
  const sink = ctx.file(name)
  const hasher = new HashCounter((bytes) => ctx.progress(name, bytes))
  // `before` rewrites what the tool prints (and is hashed as rewritten); `through` only watches.
  const stages = [options.before, hasher, options.through].filter((s): s is Transform => s !== undefined)
  const head = stages[0] as Transform
  const writing = pipeline([...stages, sink.stream])
  let result: StreamResult
  try {
    result = await run(head)
    await writing
  } catch (error) {
    head.destroy()
    await writing.catch(() => undefined)
    await sink.discard()
    throw error
  }
  const problem = result.exitCode !== 0 ? `${what} failed (exit ${result.exitCode ?? '?'}): ${lastLines(result.stderr) || 'no error output'}` : options.validate?.()
  if (problem) {
    await sink.discard()
    throw new StrategyError(problem)
  }
  sink.commit()
  return {file: name, bytes: hasher.bytes, sha256: hasher.digest(), result}
}

/** Fails with the tool's own words when it did not exit 0. */
export function expectSuccess(result: StreamResult, what: string): StreamResult {
  if (result.exitCode !== 0) throw new StrategyError(`${what} failed (exit ${result.exitCode ?? '?'}): ${lastLines(result.stderr || result.stdout) || 'no error output'}`)
  return result
}

export function randomSecret(): string {
  return randomBytes(18).toString('hex')
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** Single-quotes a value for sh. */
export function shQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`
}
