/**
 * Compose's short syntaxes for ports (`[ip:][host:]container[/proto]`, with ranges) and volumes
 * (`[source:]target[:options]`), expanded into the long forms Compose prints.
 */
import {isIP} from 'node:net'

import type {PortConfig} from './model.js'

const PROTOCOLS = new Set(['tcp', 'udp', 'sctp'])

interface Range {
  start: number
  end: number
}

function parsePortRange(text: string, what: string): Range {
  const m = /^(\d+)(?:-(\d+))?$/.exec(text)
  if (!m) throw new Error(`invalid ${what} "${text}" (expected a port number or a range like 8000-8010)`)
  const start = Number(m[1])
  const end = m[2] === undefined ? start : Number(m[2])
  for (const p of [start, end]) {
    if (p < 1 || p > 65535) throw new Error(`${what} ${p} is out of range (1-65535)`)
  }
  if (end < start) throw new Error(`invalid ${what} range "${text}" (end before start)`)
  return {start, end}
}

export function checkProtocol(proto: string): PortConfig['protocol'] {
  const p = proto.toLowerCase()
  if (!PROTOCOLS.has(p)) throw new Error(`invalid protocol "${proto}" (expected tcp, udp or sctp)`)
  return p as PortConfig['protocol']
}

/** Validate a `published` value (a port or a range) and return it as Compose prints it. */
export function checkPublished(text: string): string {
  parsePortRange(text, 'published port')
  return text
}

/** Expand one short-syntax port into the entries Compose prints (one per container port). */
export function parsePortSpec(spec: string): PortConfig[] {
  let rest = spec
  let protocol: PortConfig['protocol'] = 'tcp'
  const slash = rest.lastIndexOf('/')
  if (slash >= 0) {
    protocol = checkProtocol(rest.slice(slash + 1))
    rest = rest.slice(0, slash)
  }
  const parts = rest.split(':')
  const container = parts[parts.length - 1] as string
  let host = ''
  let ip = ''
  if (parts.length === 2) host = parts[0] as string
  else if (parts.length >= 3) {
    host = parts[parts.length - 2] as string
    ip = parts.slice(0, parts.length - 2).join(':')
  }
  if (ip.startsWith('[') && ip.endsWith(']')) ip = ip.slice(1, -1)
  else if (ip.includes(':')) throw new Error(`invalid IP address "${ip}" in port "${spec}" (write IPv6 addresses in brackets: "[::1]:80:80")`)
  if (ip !== '' && isIP(ip) === 0) throw new Error(`invalid IP address "${ip}" in port "${spec}" (write IPv6 addresses in brackets: "[::1]:80:80")`)
  if (container === '') throw new Error(`missing container port in "${spec}"`)
  const target = parsePortRange(container, 'container port')
  const count = target.end - target.start + 1
  let published: Range | undefined
  if (host !== '') {
    published = parsePortRange(host, 'published port')
    const hostCount = published.end - published.start + 1
    // One container port may take any port of a host range; otherwise the lengths must match.
    if (count > 1 && hostCount !== count) {
      throw new Error(`port ranges "${host}" and "${container}" have different lengths`)
    }
  }
  const out: PortConfig[] = []
  for (let i = 0; i < count; i++) {
    const p: PortConfig = {mode: 'ingress', target: target.start + i, protocol}
    if (ip !== '') p.host_ip = ip
    if (published) {
      p.published = count === 1 && published.end !== published.start ? host : String(published.start + i)
    }
    out.push(ordered(p))
  }
  return out
}

/** Key order as Compose prints a port. */
export function ordered(p: PortConfig): PortConfig {
  const o: Partial<PortConfig> = {}
  if (p.name !== undefined) o.name = p.name
  o.mode = p.mode
  if (p.host_ip !== undefined) o.host_ip = p.host_ip
  o.target = p.target
  if (p.published !== undefined) o.published = p.published
  o.protocol = p.protocol
  if (p.app_protocol !== undefined) o.app_protocol = p.app_protocol
  return o as PortConfig
}

export interface ParsedVolume {
  type: 'volume' | 'bind'
  source?: string
  target: string
  readOnly: boolean
  selinux?: 'z' | 'Z'
  propagation?: string
  nocopy: boolean
}

const PROPAGATION = new Set(['shared', 'rshared', 'slave', 'rslave', 'private', 'rprivate'])
const CONSISTENCY = new Set(['cached', 'delegated', 'consistent'])

/** Split on ':' except after a lone drive letter (`c:/x`), as Compose does. */
function splitVolume(spec: string): string[] {
  const parts: string[] = []
  let buf = ''
  for (const ch of spec) {
    if (ch === ':' && !(buf.length === 1 && /\p{L}/u.test(buf))) {
      parts.push(buf)
      buf = ''
    } else buf += ch
  }
  parts.push(buf)
  return parts
}

export function isPathSource(source: string): boolean {
  return source.startsWith('.') || source.startsWith('/') || source.startsWith('~') || /^\p{L}:[\\/]/u.test(source)
}

export function parseVolumeSpec(spec: string): ParsedVolume {
  if (spec === '') throw new Error('empty volume spec')
  const parts = spec.length <= 2 ? [spec] : splitVolume(spec)
  if (parts.length > 3) throw new Error(`invalid volume "${spec}": too many colons`)
  const out: ParsedVolume = {type: 'volume', target: '', readOnly: false, nocopy: false}
  if (parts.length === 1) {
    out.target = parts[0] as string
  } else {
    out.source = parts[0] as string
    out.target = parts[1] as string
    if (out.source === '') throw new Error(`invalid volume "${spec}": empty source`)
    if (isPathSource(out.source)) out.type = 'bind'
  }
  if (out.target === '') throw new Error(`invalid volume "${spec}": empty target`)
  if (parts.length === 3) {
    for (const opt of (parts[2] as string).split(',')) {
      if (opt === 'ro') out.readOnly = true
      else if (opt === 'rw') out.readOnly = false
      else if (opt === 'z' || opt === 'Z') out.selinux = opt
      else if (PROPAGATION.has(opt)) out.propagation = opt
      else if (opt === 'nocopy') out.nocopy = true
      else if (CONSISTENCY.has(opt)) continue // macOS-only hints; Compose drops them too.
      else throw new Error(`invalid volume option "${opt}" in "${spec}" (expected ro, rw, z, Z, nocopy or a propagation mode)`)
    }
  }
  return out
}
