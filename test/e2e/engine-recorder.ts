// A recording proxy in front of the Docker engine's unix socket. A command run with
// DOCKER_HOST=unix://<socket> talks to the real engine through it, and the test learns exactly which
// API calls that one command made: race-free evidence that it created nothing, even while other
// stacks are started and removed on the same engine.
import {mkdtempSync, rmSync} from 'node:fs'
import {createConnection, createServer, type Server, type Socket} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

export interface EngineRequest {
  method: string
  path: string
}

export interface EngineRecorder {
  /** DOCKER_HOST value for the command under test. */
  dockerHost: string
  /** Every request line seen so far, in arrival order (complete once the client has closed). */
  requests: EngineRequest[]
  /** Requests that can change engine state: anything but GET and HEAD. */
  mutations(): EngineRequest[]
  close(): Promise<void>
}

const REQUEST_LINE = /(?:^|\r\n)(GET|HEAD|POST|PUT|DELETE|PATCH|OPTIONS) (\S+) HTTP\/1\.[01]\r\n/g
/** Request bodies beyond this are not scanned; such an upload is reported as a mutation by itself. */
const SCAN_LIMIT = 1 << 20

export async function startEngineRecorder(engineSocket = '/var/run/docker.sock'): Promise<EngineRecorder> {
  const dir = mkdtempSync(join(tmpdir(), 'tta-engine-rec-'))
  const socketPath = join(dir, 'docker.sock')
  const requests: EngineRequest[] = []
  const sockets = new Set<Socket>()
  const server: Server = createServer((client) => {
    const engine = createConnection(engineSocket)
    sockets.add(client).add(engine)
    let seen = ''
    let scanned = 0
    let oversized = false
    const scan = (): void => {
      for (const match of seen.matchAll(REQUEST_LINE)) requests.push({method: match[1] as string, path: match[2] as string})
      // Keep only the tail that can still hold an unfinished request line.
      const lastBreak = seen.lastIndexOf('\r\n')
      seen = lastBreak >= 0 ? seen.slice(lastBreak) : seen
    }
    client.on('data', (chunk: Buffer) => {
      scanned += chunk.length
      if (scanned > SCAN_LIMIT) {
        if (!oversized) requests.push({method: 'UPLOAD', path: `more than ${SCAN_LIMIT} bytes sent`})
        oversized = true
        return
      }
      seen += chunk.toString('latin1')
      scan()
    })
    client.pipe(engine)
    engine.pipe(client)
    const done = (): void => {
      client.destroy()
      engine.destroy()
      sockets.delete(client)
      sockets.delete(engine)
    }
    client.on('error', done).on('close', done)
    engine.on('error', done).on('close', done)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(socketPath, () => resolve())
  })
  return {
    dockerHost: `unix://${socketPath}`,
    requests,
    mutations: () => requests.filter((r) => r.method !== 'GET' && r.method !== 'HEAD'),
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      rmSync(dir, {recursive: true, force: true})
    },
  }
}
