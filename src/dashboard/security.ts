import {randomBytes, timingSafeEqual} from 'node:crypto'

/** A per-run secret: 24 random bytes, URL-safe. */
export function newToken(): string {
  return randomBytes(24).toString('base64url')
}

export function sameToken(given: string | undefined, token: string): boolean {
  if (!given) return false
  const a = Buffer.from(given)
  const b = Buffer.from(token)
  return a.length === b.length && timingSafeEqual(a, b)
}

/** The Host values the server answers to: the loopback names with its port, plus any allowed explicitly. */
export function allowedHosts(port: number, extra: string[] = []): Set<string> {
  return new Set([`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, ...extra.map((h) => h.toLowerCase())])
}

export interface RequestFacts {
  method: string
  host: string | undefined
  origin: string | undefined
}

/**
 * Refuses what a page of another site could send: a Host that is not ours (DNS rebinding: the
 * attacker's name resolving to 127.0.0.1) and an Origin that is not ours (a cross-site request).
 * Requests without Origin (scripts, curl, same-origin GETs) pass on the Host check alone.
 */
export function refuseForeign(request: RequestFacts, hosts: Set<string>): string | undefined {
  const host = (request.host ?? '').toLowerCase()
  if (!hosts.has(host)) return `Host "${request.host ?? ''}" is not this server (allowed: ${[...hosts].join(', ')})`
  if (request.origin !== undefined && request.origin !== 'null') {
    let originHost: string
    try {
      const url = new URL(request.origin)
      originHost = url.protocol === 'http:' ? url.host.toLowerCase() : ''
    } catch {
      originHost = ''
    }
    if (!hosts.has(originHost)) return `Origin "${request.origin}" is not this server`
  } else if (request.origin === 'null') return 'Origin "null" (a sandboxed or file page) is not this server'
  return undefined
}

/** The token a request carries: `Authorization: Bearer`, `X-TTA-Token`, the `tta_ui` cookie, or `?token=`. */
export function tokenOf(headers: Record<string, string | string[] | undefined>, query: URLSearchParams, cookieName: string): {token?: string; via?: 'header' | 'cookie' | 'query'} {
  const auth = headers.authorization
  if (typeof auth === 'string' && /^bearer /i.test(auth)) return {token: auth.slice(7).trim(), via: 'header'}
  const header = headers['x-tta-token']
  if (typeof header === 'string' && header) return {token: header, via: 'header'}
  const cookie = cookieValue(typeof headers.cookie === 'string' ? headers.cookie : '', cookieName)
  if (cookie) return {token: cookie, via: 'cookie'}
  const q = query.get('token')
  if (q) return {token: q, via: 'query'}
  return {}
}

export function cookieValue(header: string, name: string): string | undefined {
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq > 0 && part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim())
  }
  return undefined
}
