import {existsSync, readFileSync} from 'node:fs'
import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import {join} from 'node:path'

import {ExitCode, TtaError} from '../errors.js'
import {packageRoot} from '../paths.js'
import {ActionRefused} from './actions.js'
import type {LiveEnvironment, LiveEvent} from './live.js'
import {ACTIONS, type ServiceAction} from './model.js'
import {allowedHosts, refuseForeign, sameToken, tokenOf} from './security.js'

/** Where `npm run build` puts the page (scripts/bundle-ui.mjs). */
export const WEB_DIR = join(packageRoot, 'dist', 'web')

/** What the server needs of the live environment (a fake in unit tests). */
export type DashboardSource = Pick<LiveEnvironment, 'current' | 'subscribe' | 'act' | 'backupNow' | 'logs' | 'follow'>

export interface DashboardServerOptions {
  live: DashboardSource
  port: number
  /** 127.0.0.1 unless told otherwise. */
  bind: string
  token: string
  /** Host names (NAME:PORT) besides 127.0.0.1/localhost the server answers to (a forwarded port's name). */
  allowHosts?: string[]
}

export interface RunningDashboard {
  /** The URL to open, token included. */
  url: string
  port: number
  close(): Promise<void>
}

/** The bundle, read once: the page is served from memory. */
interface WebAssets {
  index: string
  files: Map<string, {type: string; body: Buffer}>
}

const TYPES: Record<string, string> = {'.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.map': 'application/json'}

export function loadWebAssets(dir = WEB_DIR): WebAssets {
  const indexFile = join(dir, 'index.html')
  if (!existsSync(indexFile)) throw new TtaError(`the dashboard page is not built: ${indexFile} is missing`, ExitCode.failed, 'run `npm run build` (it bundles web/ into dist/web)')
  const files = new Map<string, {type: string; body: Buffer}>()
  for (const name of ['app.js', 'app.css']) {
    const file = join(dir, name)
    if (existsSync(file)) files.set(`/assets/${name}`, {type: TYPES[name.slice(name.lastIndexOf('.'))] ?? 'application/octet-stream', body: readFileSync(file)})
  }
  return {index: readFileSync(indexFile, 'utf8'), files}
}

const SECURITY_HEADERS = {
  // Everything the page needs is its own: a script or style from anywhere else is refused.
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
}

/** JSON inside a <script> element: `</script>` and friends cannot end it. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029')
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, {...SECURITY_HEADERS, 'content-type': 'application/json; charset=utf-8'}).end(JSON.stringify(body) + '\n')
}

function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, {...SECURITY_HEADERS, 'content-type': 'text/plain; charset=utf-8'}).end(text + '\n')
}

/** Server-sent events: the stream's headers, a writer, a heartbeat that also notices a dead peer. */
function openEvents(req: IncomingMessage, res: ServerResponse): {send(event: string, data: unknown): void; closed: AbortSignal} {
  res.writeHead(200, {...SECURITY_HEADERS, 'content-type': 'text/event-stream; charset=utf-8', connection: 'keep-alive', 'x-accel-buffering': 'no'})
  res.write('retry: 1000\n\n')
  const controller = new AbortController()
  const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), 15_000)
  const end = (): void => {
    clearInterval(heartbeat)
    controller.abort()
  }
  req.once('close', end)
  res.once('close', end)
  return {
    send: (event, data) => {
      if (!controller.signal.aborted) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)
    },
    closed: controller.signal,
  }
}

const LOG_TAIL_DEFAULT = 200
const LOG_TAIL_MAX = 5_000

function tailOf(query: URLSearchParams): number {
  const n = Number(query.get('tail') ?? LOG_TAIL_DEFAULT)
  return Number.isInteger(n) && n >= 0 ? Math.min(n, LOG_TAIL_MAX) : LOG_TAIL_DEFAULT
}

/**
 * `tta ui`'s HTTP server: the page, its JSON endpoints and server-sent events, and the actions.
 * Every request must name this server in Host (and Origin, when sent); everything but the static
 * bundle needs the per-run token; actions need it in a header (a cookie alone does not do, so no
 * other page can make the browser send one).
 */
export async function startDashboardServer(options: DashboardServerOptions, assets: WebAssets = loadWebAssets()): Promise<RunningDashboard> {
  const {live, token} = options
  const loopback = ['127.0.0.1', 'localhost', '::1', '0.0.0.0', '::'].includes(options.bind)
  const bindHost = options.bind.includes(':') ? `[${options.bind}]` : options.bind
  const extraHosts = (port: number): string[] => [...(options.allowHosts ?? []), ...(loopback ? [] : [`${bindHost}:${port}`])]
  let hosts = allowedHosts(options.port, extraHosts(options.port))
  let cookie = `tta_ui_${options.port}`

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost')
    const path = url.pathname
    const foreign = refuseForeign({method: req.method ?? 'GET', host: req.headers.host, origin: req.headers.origin}, hosts)
    if (foreign) return sendText(res, 403, `refused: ${foreign}`)

    const asset = req.method === 'GET' ? assets.files.get(path) : undefined
    if (asset) {
      res.writeHead(200, {...SECURITY_HEADERS, 'content-type': asset.type, 'cache-control': 'no-cache'}).end(asset.body)
      return
    }
    const given = tokenOf(req.headers, url.searchParams, cookie)
    const authorized = sameToken(given.token, token)

    if (req.method === 'POST') {
      if (!authorized || given.via !== 'header') return sendJson(res, 403, {ok: false, error: 'an action needs the token of this tta ui run in an X-TTA-Token (or Authorization: Bearer) header'})
      const serviceAction = /^\/api\/services\/([A-Za-z0-9][A-Za-z0-9._-]*)\/([a-z]+)$/.exec(path)
      try {
        if (serviceAction) {
          const [, service = '', action = ''] = serviceAction
          if (!(ACTIONS as readonly string[]).includes(action)) return sendJson(res, 404, {ok: false, error: `unknown action "${action}" (actions: ${ACTIONS.join(', ')})`})
          return sendJson(res, 200, {ok: true, message: await live.act(service, action as ServiceAction)})
        }
        if (path === '/api/backups') return sendJson(res, 200, {ok: true, message: await live.backupNow()})
      } catch (error) {
        if (error instanceof ActionRefused) return sendJson(res, error.statusCode, {ok: false, error: error.message})
        return sendJson(res, 500, {ok: false, error: (error as Error).message})
      }
      return sendJson(res, 404, {ok: false, error: `no action at ${path}`})
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, {allow: 'GET, HEAD, POST'}).end()
      return
    }
    if (!authorized) {
      if (path === '/' || path === '/index.html') return sendText(res, 403, 'tta ui: open the URL `tta ui` printed: it carries ?token=… (a new one every run)')
      return sendJson(res, 403, {ok: false, error: 'this endpoint needs the token of this tta ui run (?token=, X-TTA-Token or Authorization: Bearer)'})
    }

    if (path === '/' || path === '/index.html') {
      const state = await live.current()
      const page = assets.index.replace('<!--tta:boot-->', `<meta name="tta-token" content="${token}"><script type="application/json" id="tta-state">${scriptJson(state)}</script>`)
      // The page keeps the token in a same-site cookie too, so a reload without ?token= still works.
      res.writeHead(200, {...SECURITY_HEADERS, 'content-type': 'text/html; charset=utf-8', 'set-cookie': `${cookie}=${token}; HttpOnly; SameSite=Strict; Path=/`}).end(page)
      return
    }
    if (path === '/api/status') return sendJson(res, 200, await live.current())
    if (path === '/api/logs') {
      const service = url.searchParams.get('service') ?? ''
      let keep: ((text: string) => boolean) | undefined
      const grep = url.searchParams.get('grep')
      if (grep) {
        try {
          const pattern = new RegExp(grep, url.searchParams.get('ignoreCase') === '1' ? 'i' : '')
          keep = (text) => pattern.test(text)
        } catch (error) {
          return sendJson(res, 400, {ok: false, error: `grep: ${(error as Error).message}`})
        }
      }
      return sendJson(res, 200, {service: service || null, lines: await live.logs(service, tailOf(url.searchParams), keep)})
    }
    if (path === '/api/events') {
      const events = openEvents(req, res)
      events.send('state', await live.current())
      const unsubscribe = live.subscribe((event: LiveEvent) => events.send(event.type, event.type === 'state' ? event.state : event.event))
      events.closed.addEventListener('abort', unsubscribe, {once: true})
      return
    }
    if (path === '/api/logs/stream') {
      const events = openEvents(req, res)
      const service = url.searchParams.get('service') ?? ''
      // Lines come in bursts (history first): one event per batch, sent when the loop is free.
      let batch: unknown[] = []
      const flush = (): void => {
        if (batch.length > 0) events.send('lines', batch)
        batch = []
      }
      live
        .follow(service, tailOf(url.searchParams), events.closed, (entry) => {
          if (batch.length === 0) setImmediate(flush)
          batch.push(entry)
        })
        .catch((error: Error) => events.send('failure', {error: error.message}))
      return
    }
    return sendJson(res, 404, {ok: false, error: `not found: ${path} (see docs/ui.md)`})
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: Error) => {
      if (!res.headersSent) sendJson(res, 500, {ok: false, error: error.message})
      else res.end()
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port, options.bind, () => {
      server.off('error', reject)
      resolve()
    })
  })
  // Port 0: the one the system picked.
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : options.port
  if (port !== options.port) {
    hosts = allowedHosts(port, extraHosts(port))
    cookie = `tta_ui_${port}`
  }
  const shown = loopback ? '127.0.0.1' : bindHost
  return {
    url: `http://${shown}:${port}/?token=${token}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
