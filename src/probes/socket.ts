import {connect} from 'node:net'

export interface Exchange {
  data: Buffer
  /** Milliseconds from the start to the moment `complete` accepted the data. */
  latencyMs: number
}

/** Why a socket exchange ended without a complete answer; the message is shown as is. */
export class ProbeFailure extends Error {
  constructor(
    message: string,
    readonly latencyMs: number,
  ) {
    super(message)
    this.name = 'ProbeFailure'
  }
}

const since = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e6

/**
 * Connects to host:port, writes `payload` (if any) and collects the answer until `complete(data)`
 * says it holds everything needed, bounded by `timeoutMs` overall. A peer that closes first, or
 * refuses, fails with a message naming what happened.
 */
export function exchange(host: string, port: number, payload: Buffer | undefined, complete: (data: Buffer) => boolean, timeoutMs: number): Promise<Exchange> {
  const t0 = process.hrtime.bigint()
  return new Promise((resolve, reject) => {
    const socket = connect({host, port})
    let data: Buffer = Buffer.alloc(0)
    let settled = false
    const finish = (error?: ProbeFailure): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.destroy()
      if (error) reject(error)
      else resolve({data, latencyMs: since(t0)})
    }
    const timer = setTimeout(() => {
      const what = data.length > 0 ? `an incomplete answer (${data.length} bytes)` : 'no answer'
      finish(new ProbeFailure(`${what} within ${(timeoutMs / 1000).toFixed(1)}s`, since(t0)))
    }, timeoutMs)
    socket.once('connect', () => {
      if (payload) socket.write(payload)
    })
    socket.on('data', (chunk: Buffer) => {
      data = data.length === 0 ? chunk : Buffer.concat([data, chunk])
      if (complete(data)) finish()
    })
    socket.once('end', () => finish(new ProbeFailure(data.length > 0 ? 'connection closed mid-answer' : 'connection closed without an answer', since(t0))))
    socket.once('error', (error: NodeJS.ErrnoException) => {
      const why = error.code === 'ECONNREFUSED' ? 'connection refused' : error.code === 'ECONNRESET' ? 'connection reset' : error.message
      finish(new ProbeFailure(why, since(t0)))
    })
  })
}

/**
 * A plain TCP check. Docker's userland proxy accepts every connection on a published port and
 * only then finds nothing listening behind it, closing at once; so the connection must also
 * stay open for `holdMs` (or the server must speak first) to count.
 */
export function tcpOpen(host: string, port: number, timeoutMs: number, holdMs = 60): Promise<{latencyMs: number; greeting: boolean}> {
  const t0 = process.hrtime.bigint()
  return new Promise((resolve, reject) => {
    const socket = connect({host, port})
    let settled = false
    let connectedMs = 0
    const finish = (error?: ProbeFailure, greeting = false): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      clearTimeout(hold)
      socket.destroy()
      if (error) reject(error)
      else resolve({latencyMs: connectedMs, greeting})
    }
    let hold: NodeJS.Timeout | undefined
    const timer = setTimeout(() => finish(new ProbeFailure(`no connection within ${(timeoutMs / 1000).toFixed(1)}s`, since(t0))), timeoutMs)
    socket.once('connect', () => {
      connectedMs = since(t0)
      hold = setTimeout(() => finish(), holdMs)
    })
    socket.once('data', () => finish(undefined, true))
    socket.once('end', () => finish(new ProbeFailure('connection closed at once (nothing listening behind the port)', since(t0))))
    socket.once('error', (error: NodeJS.ErrnoException) => finish(new ProbeFailure(error.code === 'ECONNREFUSED' ? 'connection refused' : error.message, since(t0))))
  })
}

export function formatTarget(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
}
