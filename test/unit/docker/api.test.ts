// The light Engine API client against an HTTP server on a unix socket, as the engine listens.
import {createServer, type Server} from 'node:http'
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {EngineApiError, openEngineApi, queryString} from '../../../src/docker/api.js'

let server: Server
let socket: string
const seen: Array<{method?: string; url?: string; body: string}> = []

beforeAll(async () => {
  socket = join(mkdtempSync(join(tmpdir(), 'tta-api-')), 'docker.sock')
  server = createServer((req, res) => {
    let body = ''
    req.on('data', (c: Buffer) => (body += c.toString()))
    req.on('end', () => {
      seen.push({method: req.method, url: req.url, body})
      if (req.url?.startsWith('/containers/json')) res.writeHead(200, {'content-type': 'application/json'}).end('[{"Id":"abc"}]')
      else if (req.url === '/containers/nope/json') res.writeHead(404, {'content-type': 'application/json'}).end('{"message":"No such container: nope"}')
      else if (req.url === '/exec/x/start') res.writeHead(200, {'content-type': 'application/vnd.docker.raw-stream'}).end(Buffer.from([1, 0, 0, 0, 0, 0, 0, 2, 0x68, 0x69]))
      else res.writeHead(204).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(socket, resolve))
})

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve))
})

describe('queryString', () => {
  it('sends filters as JSON and leaves out unset values', () => {
    expect(queryString({all: 1, since: undefined, filters: {label: ['a=b']}})).toBe('?all=1&filters=%7B%22label%22%3A%5B%22a%3Db%22%5D%7D')
    expect(queryString({})).toBe('')
  })
})

describe('openEngineApi', () => {
  it('GETs JSON, POSTs bodies and streams answers over the socket', async () => {
    const api = await openEngineApi({DOCKER_HOST: `unix://${socket}`})
    expect(await api.json({path: '/containers/json', query: {all: 1, filters: {label: ['x=y']}}})).toEqual([{Id: 'abc'}])
    expect(seen.at(-1)?.url).toBe(`/containers/json${queryString({all: 1, filters: {label: ['x=y']}})}`)
    expect(await api.json({method: 'POST', path: '/containers/a/exec', body: {Cmd: ['true']}})).toBeUndefined()
    expect(seen.at(-1)).toMatchObject({method: 'POST', body: '{"Cmd":["true"]}'})
    const chunks: Buffer[] = []
    for await (const chunk of await api.stream({method: 'POST', path: '/exec/x/start', body: {}})) chunks.push(chunk as Buffer)
    expect(Buffer.concat(chunks).subarray(8).toString()).toBe('hi')
    api.close()
  })

  it("turns an error answer into EngineApiError with the engine's message", async () => {
    const api = await openEngineApi({DOCKER_HOST: `unix://${socket}`})
    await expect(api.json({path: '/containers/nope/json'})).rejects.toEqual(new EngineApiError(404, 'No such container: nope'))
    api.close()
  })

  it('reports an engine that is not there with exit code 3, at once', async () => {
    const api = await openEngineApi({DOCKER_HOST: `unix://${socket}.missing`})
    const t0 = Date.now()
    await expect(api.json({path: '/containers/json'})).rejects.toMatchObject({exitCode: 3, message: expect.stringContaining('no socket there')})
    expect(Date.now() - t0).toBeLessThan(2500)
  })
})
