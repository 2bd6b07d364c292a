// The protocol probes against small in-process servers on 127.0.0.1: real sockets, real bytes.
import {createServer as createHttpServer, type Server as HttpServer} from 'node:http'
import {createServer, type Server, type Socket} from 'node:net'
import {afterEach, describe, expect, it} from 'vitest'

import {describeExpectation, probeHttp, statusExpected} from '../../../src/probes/http.js'
import {BOLT_HANDSHAKE, judgeBolt, judgeDiscovery, probeNeo4j} from '../../../src/probes/neo4j.js'
import {errorFields, judgePostgres, messageComplete, probePostgres, startupMessage} from '../../../src/probes/postgres.js'
import {encodeCommand, judgeRedis, parseReplies, probeRedis} from '../../../src/probes/redis.js'
import {runProbe} from '../../../src/probes/run.js'
import {tcpOpen} from '../../../src/probes/socket.js'

const servers: Array<Server | HttpServer> = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))))
})

async function tcpServer(onSocket: (socket: Socket) => void): Promise<number> {
  const server = createServer(onSocket)
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return (server.address() as {port: number}).port
}

async function httpServer(handler: (path: string) => {status: number; body?: string}): Promise<number> {
  const server = createHttpServer((req, res) => {
    const answer = handler(req.url ?? '/')
    res.writeHead(answer.status, {'content-type': 'application/json'}).end(answer.body ?? '')
  })
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return (server.address() as {port: number}).port
}

/** A port nothing listens on: bind one, note it, close it. */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as {port: number}).port
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** A minimal redis: parses RESP arrays, answers AUTH and PING like redis 7 with `requirepass`. */
function fakeRedis(password: string | undefined, options: {mute?: boolean} = {}): Promise<number> {
  return tcpServer((socket) => {
    let authed = password === undefined
    let buffer = ''
    socket.on('data', (chunk) => {
      if (options.mute) return
      buffer += chunk.toString('utf8')
      for (;;) {
        const match = /^\*(\d+)\r\n/.exec(buffer)
        if (!match) return
        let rest = buffer.slice(match[0].length)
        const args: string[] = []
        for (let i = 0; i < Number(match[1]); i++) {
          const bulk = /^\$(\d+)\r\n/.exec(rest)
          if (!bulk || rest.length < bulk[0].length + Number(bulk[1]) + 2) return
          args.push(rest.slice(bulk[0].length, bulk[0].length + Number(bulk[1])))
          rest = rest.slice(bulk[0].length + Number(bulk[1]) + 2)
        }
        buffer = rest
        if (args[0] === 'AUTH') {
          if (password === undefined) socket.write('-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n')
          else if (args[1] === password) {
            authed = true
            socket.write('+OK\r\n')
          } else socket.write('-WRONGPASS invalid username-password pair or user is disabled.\r\n')
        } else if (args[0] === 'PING') socket.write(authed ? '+PONG\r\n' : '-NOAUTH Authentication required.\r\n')
      }
    })
  })
}

describe('redis probe', () => {
  it('encodes commands as RESP arrays of bulk strings', () => {
    expect(encodeCommand(['AUTH', 'sécret']).toString()).toBe('*2\r\n$4\r\nAUTH\r\n$7\r\nsécret\r\n')
  })

  it('parses replies only once they are complete', () => {
    expect(parseReplies(Buffer.from('+OK\r\n+PO'), 2)).toBeUndefined()
    expect(parseReplies(Buffer.from('+OK\r\n+PONG\r\n'), 2)).toEqual([{ok: true, text: 'OK'}, {ok: true, text: 'PONG'}])
    expect(parseReplies(Buffer.from('$4\r\nPONG\r\n'), 1)).toEqual([{ok: true, text: 'PONG'}])
    expect(parseReplies(Buffer.from('-NOAUTH Authentication required.\r\n'), 1)).toEqual([{ok: false, text: 'NOAUTH Authentication required.'}])
    expect(parseReplies(Buffer.from('HTTP/1.1 400 Bad Request\r\n'), 1)?.[0]?.ok).toBe(false)
  })

  it('judges PONG up and explains NOAUTH, WRONGPASS and LOADING', () => {
    expect(judgeRedis([{ok: true, text: 'PONG'}], false)).toEqual({ok: true, detail: 'PONG'})
    expect(judgeRedis([{ok: false, text: 'ERR AUTH called without any password'}, {ok: true, text: 'PONG'}], true).ok).toBe(true)
    expect(judgeRedis([{ok: false, text: 'NOAUTH Authentication required.'}], false).error).toMatch(/NOAUTH.*probes\.<service>\.password/)
    expect(judgeRedis([{ok: false, text: 'WRONGPASS invalid username-password pair'}, {ok: false, text: 'NOAUTH Authentication required.'}], true).error).toMatch(/^authentication failed: WRONGPASS/)
    expect(judgeRedis([{ok: false, text: 'LOADING Redis is loading the dataset in memory'}], false).error).toMatch(/still loading/)
  })

  it('AUTHs then PINGs a live server', async () => {
    const port = await fakeRedis('s3cret')
    const ok = await probeRedis({host: '127.0.0.1', port, password: 's3cret', timeoutMs: 2000})
    expect(ok).toMatchObject({type: 'redis', ok: true, detail: 'PONG', target: `127.0.0.1:${port}`})
    expect(ok.latencyMs).toBeGreaterThan(0)
    const wrong = await probeRedis({host: '127.0.0.1', port, password: 'nope', timeoutMs: 2000})
    expect(wrong).toMatchObject({ok: false})
    expect(wrong.error).toContain('WRONGPASS')
    const none = await probeRedis({host: '127.0.0.1', port, timeoutMs: 2000})
    expect(none.error).toContain('NOAUTH')
    // The password never shows in what is reported.
    expect(JSON.stringify([ok, wrong])).not.toContain('s3cret')
  })

  it('fails a server that accepts but never answers, within the timeout', async () => {
    const port = await fakeRedis(undefined, {mute: true})
    const t0 = Date.now()
    const result = await runProbe({type: 'redis', host: '127.0.0.1', port, timeoutMs: 300})
    expect(result).toMatchObject({ok: false, error: 'no answer within 0.3s'})
    expect(Date.now() - t0).toBeLessThan(1500)
  })

  it('fails a closed port with "connection refused"', async () => {
    const result = await runProbe({type: 'redis', host: '127.0.0.1', port: await closedPort(), timeoutMs: 1000})
    expect(result).toMatchObject({ok: false, error: 'connection refused'})
  })
})

describe('postgres probe', () => {
  it('sends a protocol 3.0 StartupMessage with user and database', () => {
    const message = startupMessage('tta', 'ttadb')
    expect(message.readInt32BE(0)).toBe(message.length)
    expect(message.readInt32BE(4)).toBe(196608)
    expect(message.subarray(8).toString()).toBe('user\0tta\0database\0ttadb\0application_name\0tta-status\0\0')
  })

  const error = (fields: Record<string, string>): Buffer => {
    const body = Buffer.from(Object.entries(fields).map(([k, v]) => `${k}${v}\0`).join('') + '\0')
    const head = Buffer.alloc(5)
    head.write('E', 0)
    head.writeInt32BE(4 + body.length, 1)
    return Buffer.concat([head, body])
  }
  const auth = (code: number, extra = ''): Buffer => {
    const rest = Buffer.from(extra)
    const head = Buffer.alloc(9)
    head.write('R', 0)
    head.writeInt32BE(8 + rest.length, 1)
    head.writeInt32BE(code, 5)
    return Buffer.concat([head, rest])
  }

  it('counts an authentication request as up, and reads error fields', () => {
    expect(messageComplete(auth(10, 'SCRAM-SHA-256\0\0').subarray(0, 7))).toBe(false)
    expect(judgePostgres(auth(10, 'SCRAM-SHA-256\0\0'))).toEqual({ok: true, detail: 'accepts connections (auth: SCRAM)'})
    expect(judgePostgres(auth(0))).toMatchObject({ok: true, detail: 'accepts connections (auth: trust)'})
    expect(errorFields(error({S: 'FATAL', C: '57P03', M: 'the database system is starting up'}))).toEqual({S: 'FATAL', C: '57P03', M: 'the database system is starting up'})
    expect(judgePostgres(error({S: 'FATAL', C: '57P03', M: 'the database system is starting up'}))).toEqual({ok: false, error: 'the database system is starting up (57P03)'})
    expect(judgePostgres(error({S: 'FATAL', C: '53300', M: 'sorry, too many clients already'})).ok).toBe(false)
    expect(judgePostgres(error({S: 'FATAL', C: '28000', M: 'no pg_hba.conf entry'}))).toMatchObject({ok: true})
    expect(judgePostgres(Buffer.from('HTTP/1.1 400'))).toMatchObject({ok: false})
  })

  it('probes a server that asks for SCRAM', async () => {
    let received = Buffer.alloc(0)
    const port = await tcpServer((socket) => {
      socket.on('data', (chunk) => {
        received = Buffer.concat([received, chunk])
        if (received.length >= received.readInt32BE(0)) socket.write(auth(10, 'SCRAM-SHA-256\0\0'))
      })
    })
    const result = await probePostgres({host: '127.0.0.1', port, user: 'tta', database: 'tta', timeoutMs: 2000})
    expect(result).toMatchObject({type: 'postgres', ok: true})
    expect(received.toString()).toContain('user\0tta\0database\0tta\0')
  })
})

describe('neo4j probe', () => {
  it('proposes bolt versions after the magic, and reads the answer', () => {
    expect(BOLT_HANDSHAKE.subarray(0, 4).toString('hex')).toBe('6060b017')
    expect(BOLT_HANDSHAKE.length).toBe(20)
    expect(judgeBolt(Buffer.from([0, 0, 4, 5]))).toEqual({ok: true, version: '5.4'})
    expect(judgeBolt(Buffer.from([0, 0, 0, 0]))).toEqual({ok: true, version: 'no common version'})
    expect(judgeBolt(Buffer.from('HTTP/1.1'))).toMatchObject({ok: false})
    expect(judgeDiscovery(200, '{"neo4j_version":"5.15.0","bolt_direct":"bolt://localhost:7687"}')).toEqual({ok: true, version: '5.15.0'})
    expect(judgeDiscovery(200, '<html>')).toMatchObject({ok: false})
    expect(judgeDiscovery(503, '')).toMatchObject({ok: false, error: 'discovery answered HTTP 503'})
  })

  it('needs both the discovery document and the bolt handshake', async () => {
    const httpPort = await httpServer(() => ({status: 200, body: '{"neo4j_version":"5.15.0","bolt_direct":"bolt://localhost:7687"}'}))
    const boltPort = await tcpServer((socket) => socket.once('data', () => socket.write(Buffer.from([0, 0, 4, 5]))))
    const up = await probeNeo4j({host: '127.0.0.1', httpPort, boltPort, timeoutMs: 2000})
    expect(up).toMatchObject({ok: true, detail: 'neo4j 5.15.0, bolt 5.4'})
    const down = await probeNeo4j({host: '127.0.0.1', httpPort, boltPort: await closedPort(), timeoutMs: 2000})
    expect(down).toMatchObject({ok: false, error: 'bolt: connection refused'})
  })
})

describe('http probe', () => {
  it('accepts 2xx and 3xx by default, or what `expect` says', () => {
    expect(statusExpected(200, undefined)).toBe(true)
    expect(statusExpected(302, undefined)).toBe(true)
    expect(statusExpected(404, undefined)).toBe(false)
    expect(statusExpected(401, [401])).toBe(true)
    expect(statusExpected(503, ['5xx'])).toBe(true)
    expect(statusExpected(200, ['5xx', 401])).toBe(false)
    expect(describeExpectation([200, '3xx'])).toBe('200 or 3xx')
  })

  it('GETs the path and judges the status', async () => {
    const port = await httpServer((path) => ({status: path === '/health' ? 200 : 503}))
    expect(await probeHttp({host: '127.0.0.1', port, path: '/health', timeoutMs: 2000})).toMatchObject({ok: true, detail: 'HTTP 200', target: `http://127.0.0.1:${port}/health`})
    expect(await probeHttp({host: '127.0.0.1', port, path: '/', timeoutMs: 2000})).toMatchObject({ok: false, error: 'HTTP 503, expected 2xx or 3xx'})
    expect(await probeHttp({host: '127.0.0.1', port, path: '/', expect: [503], timeoutMs: 2000})).toMatchObject({ok: true})
  })

  it('reports a server that is not HTTP', async () => {
    const port = await tcpServer((socket) => socket.once('data', () => socket.end('+PONG\r\n')))
    const result = await runProbe({type: 'http', host: '127.0.0.1', port, path: '/', timeoutMs: 2000})
    expect(result.ok).toBe(false)
    expect(result.error).toMatch(/not an HTTP answer|closed/)
  })
})

describe('tcp probe', () => {
  it('passes a listening server and fails one that closes at once, as the userland proxy does', async () => {
    const open = await tcpServer(() => undefined)
    expect(await runProbe({type: 'tcp', host: '127.0.0.1', port: open, timeoutMs: 1000})).toMatchObject({ok: true, detail: 'open'})
    const closing = await tcpServer((socket) => socket.end())
    await expect(tcpOpen('127.0.0.1', closing, 1000)).rejects.toThrow('connection closed at once')
    expect(await runProbe({type: 'tcp', host: '127.0.0.1', port: await closedPort(), timeoutMs: 1000})).toMatchObject({ok: false, error: 'connection refused'})
  })

  it('says an exec probe needs a container', async () => {
    expect(await runProbe({type: 'exec', command: ['true'], timeoutMs: 1000})).toMatchObject({ok: false, error: 'no running container to exec in'})
  })
})
