// The engine port over tta's HTTP client, against a local HTTP server on a unix socket that answers
// as the Engine API does: the requests it sends (paths, queries, bodies, headers), a hijacked exec
// with stdin, a tar build context, and the engine's error answers.
import {mkdtempSync, mkdirSync, writeFileSync} from 'node:fs'
import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import type {Duplex} from 'node:stream'
import {extract} from 'tar-stream'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {EngineApiError, openEngineApi} from '../../../src/docker/api.js'
import {httpPort} from '../../../src/docker/http-port.js'
import type {EnginePort} from '../../../src/docker/port.js'
import {demux} from '../../../src/engine/container-io.js'

interface Seen {
  method: string
  url: string
  headers: IncomingMessage['headers']
  body: Buffer
}

const frame = (stream: 1 | 2, text: string): Buffer => {
  const payload = Buffer.from(text)
  const header = Buffer.alloc(8)
  header[0] = stream
  header.writeUInt32BE(payload.length, 4)
  return Buffer.concat([header, payload])
}

describe('httpPort', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tta-http-port-'))
  const socket = join(dir, 'engine.sock')
  const seen: Seen[] = []
  let server: Server
  let engine: EnginePort

  const answer = (req: IncomingMessage, res: ServerResponse, body: Buffer): void => {
    seen.push({method: req.method ?? '', url: req.url ?? '', headers: req.headers, body})
    const json = (status: number, value: unknown): void => {
      res.writeHead(status, {'content-type': 'application/json'})
      res.end(JSON.stringify(value))
    }
    const path = (req.url ?? '').replace(/\?.*$/, '')
    if (path === '/containers/create') return json(201, {Id: 'c1', Warnings: []})
    if (path === '/containers/gone/json') return json(404, {message: 'No such container: gone'})
    if (path === '/containers/c1/stop') return json(304, {})
    if (path === '/containers/c1/wait') return json(200, {StatusCode: 3})
    if (path === '/containers/c1/exec') return json(201, {Id: 'e1'})
    if (path === '/exec/e1/json') return json(200, {ExitCode: 0, Running: false, Pid: 1})
    if (path === '/volumes') return json(200, {Volumes: null, Warnings: null})
    if (path === '/build') {
      res.writeHead(200, {'content-type': 'application/json'})
      res.end('{"stream":"Step 1/1 : FROM scratch\\n"}\n{"aux":{"ID":"sha256:1"}}\n')
      return
    }
    if (path === '/images/create') {
      res.writeHead(200, {'content-type': 'application/json'})
      res.end('{"status":"Pulling fs layer","id":"l1"}\n{"errorDetail":{"message":"manifest unknown"},"error":"manifest unknown"}\n')
      return
    }
    json(200, {})
  }

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (chunk: Buffer) => chunks.push(chunk))
      req.on('end', () => answer(req, res, Buffer.concat(chunks)))
    })
    // A hijacked exec: what comes in is stdin; once it ends, the "process" prints it back upper-cased.
    server.on('upgrade', (req: IncomingMessage, raw: Duplex) => {
      seen.push({method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.alloc(0)})
      raw.write('HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n')
      const input: Buffer[] = []
      raw.on('data', (chunk: Buffer) => input.push(chunk))
      raw.on('end', () => {
        raw.write(frame(1, Buffer.concat(input).toString().toUpperCase()))
        raw.end(frame(2, 'done\n'))
      })
    })
    await new Promise<void>((resolve) => server.listen(socket, resolve))
    engine = httpPort(await openEngineApi({DOCKER_HOST: `unix://${socket}`, HOME: dir}))
  })
  afterAll(() => {
    server.close()
  })
  const last = (): Seen => seen[seen.length - 1] as Seen

  it('creates a container: the name (and platform) in the query, the rest as the JSON body', async () => {
    expect(await engine.containers.create({name: 'p-web-1', Image: 'nginx', Labels: {a: 'b'}})).toBe('c1')
    expect(last().method).toBe('POST')
    expect(last().url).toBe('/containers/create?name=p-web-1')
    expect(JSON.parse(last().body.toString())).toEqual({Image: 'nginx', Labels: {a: 'b'}})
  })

  it('sends filters as JSON, and reads volume lists whose Volumes is null as empty', async () => {
    await engine.containers.list({all: true, filters: {label: ['com.docker.compose.project=p']}})
    expect(decodeURIComponent(last().url)).toBe('/containers/json?all=1&filters={"label":["com.docker.compose.project=p"]}')
    expect(await engine.volumes.list()).toEqual([])
  })

  it('keeps the engine\'s status and words on an error answer (404, 304 for an already stopped container)', async () => {
    const missing = await engine.containers.inspect('gone').catch((error: unknown) => error)
    expect(missing).toBeInstanceOf(EngineApiError)
    expect(missing).toMatchObject({statusCode: 404, message: 'No such container: gone'})
    await expect(engine.containers.stop('c1', {timeoutS: 10})).rejects.toMatchObject({statusCode: 304})
    expect(last().url).toBe('/containers/c1/stop?t=10')
    expect(await engine.containers.wait('c1')).toBe(3)
  })

  it('runs an exec over a hijacked connection: stdin in, a half-close ends it, framed output back', async () => {
    const execId = await engine.exec.create('c1', {Cmd: ['tr', 'a-z', 'A-Z'], AttachStdin: true})
    expect(JSON.parse(last().body.toString())).toEqual({Cmd: ['tr', 'a-z', 'A-Z'], AttachStdin: true, AttachStdout: true, AttachStderr: true})
    const stream = await engine.exec.start(execId, {stdin: true})
    expect(last()).toMatchObject({method: 'POST', url: '/exec/e1/start'})
    expect(last().headers).toMatchObject({connection: 'Upgrade', upgrade: 'tcp'})
    const output: Buffer[] = []
    stream.on('data', (chunk: Buffer) => output.push(chunk))
    const ended = new Promise((resolve) => stream.once('end', resolve))
    stream.write('hello ')
    stream.end('engine\n')
    await ended
    expect(demux(Buffer.concat(output))).toEqual({stdout: 'HELLO ENGINE\n', stderr: 'done\n'})
    expect(await engine.exec.inspect(execId)).toEqual({ExitCode: 0, Running: false})
  })

  it('builds from a tar of the listed context files, options in the query, progress read to the end', async () => {
    const context = join(dir, 'ctx')
    mkdirSync(join(context, 'app'), {recursive: true})
    writeFileSync(join(context, 'Dockerfile'), 'FROM scratch\n')
    writeFileSync(join(context, 'app', 'main.py'), 'print(1)\n')
    const lines: string[] = []
    await engine.images.build({dir: context, files: ['Dockerfile', 'app/main.py']}, {t: 'p-web', buildargs: {A: '1'}, labels: {x: 'y'}}, (e) => e.stream && lines.push(e.stream))
    expect(lines).toEqual(['Step 1/1 : FROM scratch\n'])
    const query = new URL(`http://x${last().url}`).searchParams
    expect([query.get('t'), query.get('buildargs'), query.get('labels')]).toEqual(['p-web', '{"A":"1"}', '{"x":"y"}'])
    expect(last().headers['content-type']).toBe('application/x-tar')
    const files: Record<string, string> = {}
    const tar = extract()
    tar.on('entry', (header, body, next) => {
      const chunks: Buffer[] = []
      body.on('data', (c: unknown) => chunks.push(c as Buffer))
      body.on('end', () => {
        files[header.name] = Buffer.concat(chunks).toString()
        next()
      })
    })
    await new Promise<void>((resolve, reject) => {
      tar.on('finish', resolve)
      tar.on('error', reject)
      tar.end(last().body)
    })
    expect(files).toEqual({'Dockerfile': 'FROM scratch\n', 'app/main.py': 'print(1)\n'})
  })

  it('pulls by repository and tag with a registry auth header (padded URL-safe base64); an error event fails the pull', async () => {
    const progress: unknown[] = []
    await expect(engine.images.pull('registry.local:5000/team/api:1.2', (e) => progress.push(e), {auth: {username: 'u', password: 'p?>'}})).rejects.toThrow('manifest unknown')
    expect(decodeURIComponent(last().url)).toBe('/images/create?fromImage=registry.local:5000/team/api&tag=1.2')
    const header = String(last().headers['x-registry-auth'])
    expect(header).not.toMatch(/[+/]/)
    expect(JSON.parse(Buffer.from(header, 'base64url').toString())).toEqual({username: 'u', password: 'p?>'})
    expect(progress).toEqual([{status: 'Pulling fs layer', id: 'l1'}])
  })
})
