import {connect} from 'node:net'

import type {EnginePort, ExecSpec} from '../docker/port.js'
import {frames} from './frames.js'

/**
 * Splits Docker's multiplexed log/exec stream (8-byte header: stream type, 3 zero bytes,
 * big-endian length) into text. A TTY container sends raw bytes instead; pass `tty` for those.
 */
export function demux(buffer: Buffer, tty = false): {stdout: string; stderr: string} {
  if (tty) return {stdout: buffer.toString('utf8'), stderr: ''}
  const out: Buffer[] = []
  const err: Buffer[] = []
  for (const frame of frames(buffer)) (frame.stream === 'stderr' ? err : out).push(frame.payload)
  return {stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8')}
}

/** The last `lines` log lines of a container, stdout and stderr interleaved as Docker stored them. */
export async function logTail(engine: Pick<EnginePort, 'containers'>, containerId: string, lines = 20, tty = false): Promise<string[]> {
  try {
    const buffer = await engine.containers.logs(containerId, {tail: lines})
    if (tty) return buffer.toString('utf8').split(/\r?\n/).filter(Boolean).slice(-lines)
    // Keep the engine's order: walk frames, not the two streams separately.
    const result: string[] = []
    for (const frame of frames(buffer)) result.push(...frame.payload.toString('utf8').split(/\r?\n/))
    return result.filter((l) => l !== '').slice(-lines)
  } catch {
    return []
  }
}

export interface ExecResult {
  exitCode: number | null
  output: string
  timedOut: boolean
}

export interface ExecOutput {
  exitCode: number | null
  stdout: string
  stderr: string
  timedOut: boolean
}

/** Runs a command in a running container and collects its output, bounded by `timeoutMs` (then stopped waiting for, exitCode null). */
export async function execCollect(engine: Pick<EnginePort, 'exec'>, containerId: string, spec: ExecSpec, timeoutMs: number, onCreated?: (execId: string) => void): Promise<ExecOutput> {
  const execId = await engine.exec.create(containerId, spec)
  onCreated?.(execId)
  const stream = await engine.exec.start(execId, {stdin: false})
  const chunks: Buffer[] = []
  stream.on('data', (chunk: Buffer) => chunks.push(chunk))
  const timedOut = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => {
      stream.destroy()
      resolve(true)
    }, timeoutMs)
    const done = (): void => {
      clearTimeout(timer)
      resolve(false)
    }
    stream.once('end', done)
    stream.once('close', done)
    stream.once('error', done)
  })
  if (timedOut) return {exitCode: null, stdout: '', stderr: '', timedOut}
  const info = await engine.exec.inspect(execId)
  return {exitCode: info.ExitCode ?? null, ...demux(Buffer.concat(chunks)), timedOut: false}
}

/** Runs a command in a running container and waits for it, bounded by `timeoutMs`; stdout and stderr as one text. */
export async function execIn(engine: Pick<EnginePort, 'exec'>, containerId: string, cmd: string[], timeoutMs: number, onCreated?: (execId: string) => void): Promise<ExecResult> {
  const result = await execCollect(engine, containerId, {Cmd: cmd}, timeoutMs, onCreated)
  return {exitCode: result.exitCode, output: result.stdout + result.stderr, timedOut: result.timedOut}
}

/**
 * Does a server answer at host:port? Docker's userland proxy accepts every connection on a
 * published port and only then finds the container not listening, closing it at once; so a
 * connection counts only if it is still open after `holdMs`.
 */
export function tcpAnswers(host: string, port: number, timeoutMs = 500, holdMs = 150): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({host, port})
    let settled = false
    const finish = (ok: boolean): void => {
      if (settled) return
      settled = true
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(timeoutMs, () => finish(false))
    socket.once('connect', () => setTimeout(() => finish(true), holdMs))
    socket.once('end', () => finish(false))
    socket.once('close', () => finish(false))
    socket.once('error', () => finish(false))
  })
}

/** A Docker healthcheck `test` as an exec command: CMD runs as is, CMD-SHELL through /bin/sh. */
export function healthcheckCommand(test: string[]): string[] {
  const [kind, ...rest] = test
  if (kind === 'CMD-SHELL') return ['/bin/sh', '-c', rest.join(' ')]
  if (kind === 'CMD') return rest
  return test
}
