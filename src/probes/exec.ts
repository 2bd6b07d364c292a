import type {EngineApi} from '../docker/api.js'
import {demux} from '../engine/container-io.js'
import {ProbeFailure} from './socket.js'
import type {ProbeResult} from './types.js'

export interface ApiExecResult {
  exitCode: number | null
  output: string
  latencyMs: number
}

/** Runs a command in a running container through the Engine API, bounded by timeoutMs. */
export async function apiExec(api: EngineApi, containerId: string, command: string[], timeoutMs: number): Promise<ApiExecResult> {
  const t0 = process.hrtime.bigint()
  const elapsed = (): number => Number(process.hrtime.bigint() - t0) / 1e6
  const deadline = AbortSignal.timeout(timeoutMs)
  try {
    const created = await api.json<{Id: string}>({method: 'POST', path: `/containers/${containerId}/exec`, body: {Cmd: command, AttachStdout: true, AttachStderr: true}, timeoutMs, signal: deadline})
    const stream = await api.stream({method: 'POST', path: `/exec/${created.Id}/start`, body: {Detach: false, Tty: false}, timeoutMs, signal: deadline})
    const chunks: Buffer[] = []
    for await (const chunk of stream) chunks.push(chunk as Buffer)
    const info = await api.json<{ExitCode: number | null; Running: boolean}>({path: `/exec/${created.Id}/json`, timeoutMs: 2_000})
    const {stdout, stderr} = demux(Buffer.concat(chunks))
    return {exitCode: info.Running ? null : info.ExitCode, output: stdout + stderr, latencyMs: elapsed()}
  } catch (error) {
    if (deadline.aborted) throw new ProbeFailure(`timed out after ${(timeoutMs / 1000).toFixed(1)}s`, elapsed())
    throw error
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
