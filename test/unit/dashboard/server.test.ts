import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {request} from 'node:http'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {ActionRefused} from '../../../src/dashboard/actions.js'
import type {LiveEvent} from '../../../src/dashboard/live.js'
import type {DashboardState, LogEntry, ServiceAction} from '../../../src/dashboard/model.js'
import {loadWebAssets, startDashboardServer, type DashboardSource, type RunningDashboard} from '../../../src/dashboard/server.js'

const TOKEN = 'unit-test-token-0123456789abcdef'
// A state whose text tries to end the page's <script> element.
const state = {schemaVersion: 1, project: 'p', mode: 'dev', note: '</script><script>alert(1)</script>'} as unknown as DashboardState
const acted: Array<[string, ServiceAction]> = []

const source: DashboardSource = {
  current: async () => state,
  subscribe: (listener: (event: LiveEvent) => void) => {
    setTimeout(() => listener({type: 'action', event: {id: 1, target: 'redis', action: 'restart', phase: 'done', message: 'pushed', at: ''}}), 10)
    return () => undefined
  },
  act: async (service: string, action: ServiceAction) => {
    if (service === 'busy') throw new ActionRefused(409, 'busy: restart is already under way')
    acted.push([service, action])
    return `${action} ${service} done`
  },
  backupNow: async () => 'backup 1 complete',
  logs: async (service: string, tail: number): Promise<LogEntry[]> => [{time: 't', service: service || 'all', container: 'c', stream: 'stdout', message: `tail ${tail}`}],
  follow: async () => undefined,
}

let dir = ''
let server: RunningDashboard

function call(path: string, options: {method?: string; headers?: Record<string, string>} = {}): Promise<{status: number; body: string; headers: Record<string, string | string[] | undefined>}> {
  return new Promise((resolve, reject) => {
    const req = request({host: '127.0.0.1', port: server.port, path, method: options.method ?? 'GET', headers: {host: `127.0.0.1:${server.port}`, ...options.headers}}, (res) => {
      let body = ''
      res.setEncoding('utf8').on('data', (c: string) => {
        body += c
        // An event stream never ends: enough once the first pushed event is in.
        if (res.headers['content-type']?.startsWith('text/event-stream') && body.includes('event: action')) req.destroy()
      })
      const done = () => resolve({status: res.statusCode ?? 0, body, headers: res.headers})
      res.on('end', done)
      res.on('close', done)
    })
    req.on('error', reject)
    req.end()
  })
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tta-web-'))
  writeFileSync(join(dir, 'index.html'), '<html><head><!--tta:boot--></head><body></body></html>')
  writeFileSync(join(dir, 'app.js'), 'console.log(1)')
  writeFileSync(join(dir, 'app.css'), 'body{}')
  server = await startDashboardServer({live: source, port: 0, bind: '127.0.0.1', token: TOKEN}, loadWebAssets(dir))
})

afterAll(async () => {
  await server.close()
  rmSync(dir, {recursive: true, force: true})
})

describe('tta ui server', () => {
  it('prints a URL with the token, on 127.0.0.1 and the port it got', () => {
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/?token=${TOKEN}`)
  })

  it('serves the page with the token, its state escaped, a same-site cookie and a strict CSP', async () => {
    const page = await call(`/?token=${TOKEN}`)
    expect(page.status).toBe(200)
    expect(page.body).toContain(`<meta name="tta-token" content="${TOKEN}">`)
    expect(page.body).not.toContain('</script><script>alert(1)')
    expect(page.body).toContain('\\u003c/script>')
    expect(page.headers['set-cookie']?.[0]).toBe(`tta_ui_${server.port}=${TOKEN}; HttpOnly; SameSite=Strict; Path=/`)
    expect(page.headers['content-security-policy']).toContain("script-src 'self'")
    // A reload with the cookie alone works too.
    expect((await call('/', {headers: {cookie: `tta_ui_${server.port}=${TOKEN}`}})).status).toBe(200)
  })

  it('refuses the page and the API without the token, but serves the static bundle', async () => {
    expect((await call('/')).status).toBe(403)
    expect((await call('/?token=wrong')).status).toBe(403)
    expect((await call('/api/status')).status).toBe(403)
    expect((await call('/api/logs?service=redis')).status).toBe(403)
    expect((await call('/api/events')).status).toBe(403)
    const js = await call('/assets/app.js')
    expect(js.status).toBe(200)
    expect(js.headers['content-type']).toContain('text/javascript')
  })

  it('runs an action only with the token in a header', async () => {
    acted.length = 0
    expect((await call('/api/services/redis/restart', {method: 'POST'})).status).toBe(403)
    expect((await call(`/api/services/redis/restart?token=${TOKEN}`, {method: 'POST'})).status).toBe(403)
    expect((await call('/api/services/redis/restart', {method: 'POST', headers: {cookie: `tta_ui_${server.port}=${TOKEN}`}})).status).toBe(403)
    expect(acted).toEqual([])
    const ok = await call('/api/services/redis/restart', {method: 'POST', headers: {'x-tta-token': TOKEN}})
    expect(ok.status).toBe(200)
    expect(JSON.parse(ok.body)).toEqual({ok: true, message: 'restart redis done'})
    expect((await call('/api/backups', {method: 'POST', headers: {authorization: `Bearer ${TOKEN}`}})).body).toContain('backup 1 complete')
    expect(acted).toEqual([['redis', 'restart']])
  })

  it('answers unknown actions 404 and refused ones with their status', async () => {
    const headers = {'x-tta-token': TOKEN}
    expect((await call('/api/services/redis/explode', {method: 'POST', headers})).status).toBe(404)
    const busy = await call('/api/services/busy/restart', {method: 'POST', headers})
    expect(busy.status).toBe(409)
    expect(JSON.parse(busy.body).error).toContain('already under way')
  })

  it('refuses a foreign Host or Origin even with the token', async () => {
    expect((await call('/api/status', {headers: {'x-tta-token': TOKEN, host: 'evil.example'}})).status).toBe(403)
    expect((await call('/api/services/redis/stop', {method: 'POST', headers: {'x-tta-token': TOKEN, origin: 'http://evil.example'}})).status).toBe(403)
  })

  it('serves status and logs as JSON, with tail bounded and a bad grep refused', async () => {
    const headers = {'x-tta-token': TOKEN}
    expect(JSON.parse((await call('/api/status', {headers})).body).project).toBe('p')
    const logs = JSON.parse((await call('/api/logs?service=redis&tail=99999', {headers})).body) as {service: string; lines: LogEntry[]}
    expect(logs.service).toBe('redis')
    expect(logs.lines[0]?.message).toBe('tail 5000')
    expect((await call('/api/logs?grep=(', {headers})).status).toBe(400)
  })

  it('pushes the state, then events, over server-sent events', async () => {
    const events = await call('/api/events', {headers: {'x-tta-token': TOKEN}})
    expect(events.headers['content-type']).toContain('text/event-stream')
    expect(events.body).toMatch(/^retry: 1000\n\nevent: state\ndata: \{"schemaVersion":1/)
    expect(events.body).toContain('event: action\ndata: {"id":1,"target":"redis","action":"restart","phase":"done","message":"pushed"')
  })
})
