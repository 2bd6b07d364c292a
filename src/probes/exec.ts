import type {EngineApi} from '../docker/api.js'
import {httpPort} from '../docker/http-port.js'
import {execCollect} from '../engine/container-io.js'
import {ProbeFailure} from './socket.js'
import type {ProbeResult} from './types.js'

export interface ApiExecResult {
  exitCode: number | null
  output: string
  latencyMs: number
}

/** Runs a command in a running container through the engine port, bounded by timeoutMs as a whole. */
export async function apiExec(api: EngineApi, containerId: string, command: string[], timeoutMs: number): Promise<ApiExecResult> {
  const t0 = process.hrtime.bigint()
  const elapsed = (): number => Number(process.hrtime.bigint() - t0) / 1e6
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ProbeFailure(`timed out after ${(timeoutMs / 1000).toFixed(1)}s`, elapsed())), timeoutMs)
  })
  try {
    const result = await Promise.race([execCollect(httpPort(api), containerId, {Cmd: command}, timeoutMs), deadline])
    if (result.timedOut) throw new ProbeFailure(`timed out after ${(timeoutMs / 1000).toFixed(1)}s`, elapsed())
    return {exitCode: result.exitCode, output: result.stdout + result.stderr, latencyMs: elapsed()}
  } finally {
    clearTimeout(timer)
  }
}

/** A shell-ish rendering of a command for the probe's target, shortened. */
export function commandText(command: string[]): string {
  const text = command[0] === '/bin/sh' && command[1] === '-c' ? (command[2] ?? '') : command.map((a) => (/[\s"']/.test(a) ? JSON.stringify(a) : a)).join(' ')
  return text.length > 60 ? `${text.slice(0, 57)}...` : text
}

export async function probeExec(api: EngineApi, containerId: string, spec: {command: string[]; timeoutMs: number}): Promise<ProbeResult> {
  const target = `exec: ${commandText(spec.command)}`
  const result = await apiExec(api, containerId, spec.command, spec.timeoutMs)
  const last = result.output.trim().split('\n').slice(-1)[0]?.trim()
  if (result.exitCode === 0) return {type: 'exec', target, ok: true, latencyMs: result.latencyMs, detail: 'exit 0'}
  return {type: 'exec', target, ok: false, latencyMs: result.latencyMs, error: `exit ${result.exitCode ?? '?'}${last ? `: ${last}` : ''}`}
}
