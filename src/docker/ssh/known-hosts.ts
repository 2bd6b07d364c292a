// known_hosts, OpenSSH's format: parsing, matching (hashed names too) and new lines. Pure.
import {createHmac, randomBytes} from 'node:crypto'



export interface KnownHostLine {
  marker?: 'revoked' | 'cert-authority'
  patterns: string
  type: string
  /** The key blob, base64, as written. */
  key: string
  file: string
  line: number
}

/** How a host is named in known_hosts: `host` on port 22, `[host]:port` otherwise. */
export function knownHostName(host: string, port: number): string {
  const bare = host.replace(/^\[|\]$/g, '')
  return port === 22 ? bare : `[${bare}]:${port}`
}

export function parseKnownHosts(text: string, file: string): KnownHostLine[] {
  const lines: KnownHostLine[] = []
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) return
    const fields = line.split(/\s+/)
    let marker: KnownHostLine['marker']
    if (fields[0]?.startsWith('@')) {
      const name = fields.shift()?.slice(1)
      if (name !== 'revoked' && name !== 'cert-authority') return
      marker = name
    }
    const [patterns, type, key] = fields
    if (!patterns || !type || !key) return
    lines.push({marker, patterns, type, key, file, line: i + 1})
  })
  return lines
}

/** OpenSSH's `*` and `?` wildcards, case-insensitive. */
function wildcard(pattern: string, name: string): boolean {
  const source = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')
  return new RegExp(`^${source}$`, 'i').test(name)
}

/** Does a known_hosts host field (comma list, `!negations`, wildcards, or a hashed `|1|salt|hash`) name this host? */
export function matchesHost(patterns: string, name: string): boolean {
  if (patterns.startsWith('|1|')) {
    const [, , salt, hash] = patterns.split('|')
    if (!salt || !hash) return false
    return createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash
  }
  let matched = false
  for (const pattern of patterns.split(',')) {
    const negated = pattern.startsWith('!')
    if (!wildcard(negated ? pattern.slice(1) : pattern, name)) continue
    if (negated) return false
    matched = true
  }
  return matched
}

/** The algorithm name inside an SSH public key blob (`ssh-ed25519`, `ecdsa-sha2-nistp256`, `ssh-rsa`, ...). */
export function keyType(blob: Buffer): string {
  if (blob.length < 4) return ''
  const length = blob.readUInt32BE(0)
  return blob.subarray(4, 4 + length).toString('latin1')
}

export type HostKeyVerdict = {verdict: 'known'; line: KnownHostLine} | {verdict: 'unknown'} | {verdict: 'changed' | 'revoked'; line: KnownHostLine}

/**
 * OpenSSH's decision for a presented host key: revoked, known (a line for this host has this
 * key), changed (a line for this host has another key of the same type), else unknown. Pure.
 */
export function hostKeyVerdict(lines: readonly KnownHostLine[], name: string, blob: Buffer): HostKeyVerdict {
  const key = blob.toString('base64')
  const type = keyType(blob)
  const mine = lines.filter((l) => l.marker !== 'cert-authority' && (l.marker === 'revoked' ? true : matchesHost(l.patterns, name)))
  const revoked = mine.find((l) => l.marker === 'revoked' && l.key === key)
  if (revoked) return {verdict: 'revoked', line: revoked}
  const hosts = mine.filter((l) => l.marker === undefined)
  const known = hosts.find((l) => l.key === key)
  if (known) return {verdict: 'known', line: known}
  const changed = hosts.find((l) => l.type === type)
  if (changed) return {verdict: 'changed', line: changed}
  return {verdict: 'unknown'}
}

/** A known_hosts line for a new host, its name hashed as OpenSSH's HashKnownHosts does. */
export function knownHostLine(name: string, blob: Buffer, salt: Buffer = randomBytes(20)): string {
  const hash = createHmac('sha1', salt).update(name).digest('base64')
  return `|1|${salt.toString('base64')}|${hash} ${keyType(blob)} ${blob.toString('base64')}`
}

/** Key types known for a host, as ssh2 host-key algorithm names: offered first, so the server shows a key we can check. */
export function preferredHostKeyAlgorithms(lines: readonly KnownHostLine[], name: string): string[] {
  const all = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']
  const types = new Set(lines.filter((l) => l.marker === undefined && matchesHost(l.patterns, name)).map((l) => l.type))
  const known = all.filter((algo) => types.has(algo) || (types.has('ssh-rsa') && algo.startsWith('rsa-sha2-')))
  return [...known, ...all.filter((algo) => !known.includes(algo))]
}

// ---------------------------------------------------------------------------------------------
// private keys
