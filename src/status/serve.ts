import {createServer} from 'node:http'

import type {EngineApi} from '../docker/api.js'
import {ExitCode, TtaError} from '../errors.js'
import {collectStatus, type CollectOptions} from './collect.js'
import type {StatusReport} from './model.js'
import type {StatsSample} from './stats.js'

/**
 * `tta status --serve`: Prometheus metrics on /metrics and the status as JSON on /status. Scrapes
 * that overlap share one collection, so probes run once whatever the scrape rate. Resolves once
 * listening; a taken port or a foreign address is bad input.
 */
export async function serveStatus(api: EngineApi, options: CollectOptions, at: {port: number; bind: string}): Promise<{url: string; close: () => Promise<void>}> {
  const {renderMetrics} = await import('./metrics.js')
  const {port, bind} = at
  let previous: Map<string, StatsSample> | undefined
  let inflight: Promise<StatusReport> | undefined
  const collect = (): Promise<StatusReport> =>
    (inflight ??= collectStatus(api, {...options, previous})
      .then(({report, samples}) => {
        previous = samples
        return report
      })
      .finally(() => {
        inflight = undefined
      }))
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, {allow: 'GET, HEAD'}).end()
      return
    }
    if (path === '/metrics' || path === '/status') {
      collect().then(
        (report) => {
          const body = path === '/metrics' ? renderMetrics(report) : JSON.stringify(report, null, 2) + '\n'
          res.writeHead(200, {'content-type': path === '/metrics' ? 'text/plain; version=0.0.4; charset=utf-8' : 'application/json'}).end(req.method === 'HEAD' ? undefined : body)
        },
        (error: Error) => res.writeHead(503, {'content-type': 'text/plain; charset=utf-8'}).end(`tta status: ${error.message}\n`),
      )
      return
    }
    if (path === '/') {
      res.writeHead(200, {'content-type': 'text/plain; charset=utf-8'}).end(`tta status for project ${options.project}: /metrics (Prometheus), /status (JSON)\n`)
      return
    }
    res.writeHead(404, {'content-type': 'text/plain; charset=utf-8'}).end('not found: try /metrics\n')
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'EADDRINUSE'
          ? new TtaError(`--serve: ${bind}:${port} is already in use`, ExitCode.badInput, 'pick another port')
          : error.code === 'EADDRNOTAVAIL'
            ? new TtaError(`--bind: ${bind} is not an address of this machine`, ExitCode.badInput)
            : error,
      )
    })
    server.listen(port, bind, () => resolve())
  })
  const shown = bind.includes(':') ? `[${bind}]` : bind
  return {
    url: `http://${shown}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
