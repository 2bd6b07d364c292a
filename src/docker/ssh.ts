import {createHash, createHmac, randomBytes} from 'node:crypto'
import {appendFileSync, chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync} from 'node:fs'
import {Agent, type AgentOptions} from 'node:http'
import {createRequire} from 'node:module'
import {connect as netConnect, type Socket} from 'node:net'
import {homedir, userInfo} from 'node:os'
import {basename, delimiter, dirname, isAbsolute, join, resolve} from 'node:path'
import type {Duplex} from 'node:stream'
import type {AgentAuthMethod, Client, ClientChannel, ConnectConfig, PublicKeyAuthMethod} from 'ssh2'

import {ExitCode, TtaError} from '../errors.js'

/**
 * ssh:// Docker engines. tta talks to them the way the docker CLI does (`docker system
 * dial-stdio` on the host, over SSH), with the host keys and private keys an OpenSSH user
 * expects: keys from the agent, an explicit identity file (TTA_SSH_IDENTITY, or a deploy
 * target's `identityFile:`), then ~/.ssh/id_ed25519, id_rsa, id_ecdsa; host keys checked
 * against ~/.ssh/known_hosts and tta's own known_hosts, a new host's key added to tta's file
 * (OpenSSH's StrictHostKeyChecking=accept-new), a changed key refused. The docker CLI (builds)
 * gets the same through a small `ssh` wrapper on its PATH.
 */

/** Where keys and host keys come from; see sshSettings. */
export interface SshSettings {
  /** tta's own known_hosts: new host keys are recorded here, never in ~/.ssh. */
  knownHostsFile: string
  /** Read when checking a host key: tta's file, the user's, the system's. */
  readKnownHosts: string[]
  /** Private keys to offer, in order (existing files only). */
  identityFiles: string[]
  /** The default key files looked for, for error messages. */
  defaultIdentities: string[]
  /** SSH_AUTH_SOCK, when set. */
  agent?: string
  /** OpenSSH client configuration read for StrictHostKeyChecking: the user's, then the system's. */
  sshConfigFiles: string[]
}

export const IDENTITY_ENV = 'TTA_SSH_IDENTITY'
const DEFAULT_KEYS = ['id_ed25519', 'id_rsa', 'id_ecdsa']

/** `~/x` → absolute. */
export function expandHome(path: string, home: string = homedir()): string {
  return path === '~' ? home : path.startsWith('~/') ? join(home, path.slice(2)) : path
}

/** tta's directory for ssh state: `$XDG_CONFIG_HOME/tta/ssh`, by default `~/.config/tta/ssh`. */
export function sshStateDir(env: NodeJS.ProcessEnv = process.env, home: string = homedir()): string {
  const config = env.XDG_CONFIG_HOME && isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : join(home, '.config')
  return join(config, 'tta', 'ssh')
}

export function sshSettings(env: NodeJS.ProcessEnv = process.env, home: string = homedir()): SshSettings {
  const dir = sshStateDir(env, home)
  const defaults = DEFAULT_KEYS.map((name) => join(home, '.ssh', name))
  const identityFiles: string[] = []
  const explicit = env[IDENTITY_ENV]
  if (explicit) {
    const file = resolve(expandHome(explicit, home))
    if (!existsSync(file)) throw new TtaError(`${IDENTITY_ENV}=${explicit}: no such file`, ExitCode.badInput, 'point it at the private key for the ssh:// host (or unset it to use ssh-agent and ~/.ssh/id_*)')
    identityFiles.push(file)
  }
  for (const file of defaults) if (existsSync(file) && !identityFiles.includes(file)) identityFiles.push(file)
  return {
    knownHostsFile: join(dir, 'known_hosts'),
    readKnownHosts: [join(dir, 'known_hosts'), join(home, '.ssh', 'known_hosts'), join(home, '.ssh', 'known_hosts2'), '/etc/ssh/ssh_known_hosts'],
    identityFiles,
    defaultIdentities: defaults,
    agent: env.SSH_AUTH_SOCK || undefined,
    sshConfigFiles: [join(home, '.ssh', 'config'), '/etc/ssh/ssh_config'],
  }
}

// ---------------------------------------------------------------------------------------------
// the user's ssh_config: StrictHostKeyChecking

/** How an unknown host key is treated: recorded (accept-new, tta's default) or refused (the user's `yes`/`ask`). */
export interface HostKeyPolicy {
  check: 'accept-new' | 'yes'
  /** The setting as written, and the file it came from, when a config file set it. */
  setting?: string
  file?: string
}

type SshConfigModule = {default: {parse(text: string): {compute(opts: {Host: string; User?: string}, options: {ignoreCase: boolean; matchExec: boolean}): Record<string, unknown>}}}
let sshConfigModule: SshConfigModule['default'] | undefined
/** ssh-config parses OpenSSH's format (Host patterns, negations, Match); loaded only when SSH is used. */
function loadSshConfig(): SshConfigModule['default'] {
  if (!sshConfigModule) {
    const required = createRequire(import.meta.url)('ssh-config') as SshConfigModule | SshConfigModule['default']
    sshConfigModule = 'default' in required ? required.default : required
  }
  return sshConfigModule
}

const INCLUDE = /^\s*include(?:\s+|\s*=\s*)(.+)$/i

/**
 * A config file's text with its `Include` lines replaced by the files they name (in place, relative
 * paths against `base`, `*`/`?` in the file name), a few levels deep. Absent files read as empty.
 */
export function readSshConfig(file: string, base: string, home: string = homedir(), depth = 0): string {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch {
    return ''
  }
  if (depth >= 4) return text
  return text
    .split(/\r?\n/)
    .map((line) => {
      const include = INCLUDE.exec(line)
      if (!include?.[1]) return line
      return include[1]
        .trim()
        .split(/\s+/)
        .flatMap((pattern) => {
          const path = expandHome(pattern.replace(/^"|"$/g, ''), home)
          const abs = isAbsolute(path) ? path : join(base, path)
          const name = basename(abs)
          if (!/[*?]/.test(name)) return [abs]
          const re = new RegExp(`^${name.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`)
          try {
            return readdirSync(dirname(abs)).filter((entry) => re.test(entry)).sort().map((entry) => join(dirname(abs), entry))
          } catch {
            return []
          }
        })
        .map((included) => readSshConfig(included, base, home, depth + 1))
        .join('\n')
    })
    .join('\n')
}

/**
 * StrictHostKeyChecking for a host, as OpenSSH decides it: the first value found, the user's file
 * before the system's. `yes` and `ask` (tta never prompts) refuse a host whose key is not known;
 * anything else is tta's accept-new (`no` included: a changed key is always refused). `Match exec`
 * is never run. Pure but for the parser.
 */
export function hostKeyPolicy(configs: ReadonlyArray<{file: string; text: string}>, host: string, user?: string): HostKeyPolicy {
  const parser = loadSshConfig()
  for (const {file, text} of configs) {
    if (text.trim() === '') continue
    const computed = parser.parse(text).compute({Host: host, ...(user ? {User: user} : {})}, {ignoreCase: true, matchExec: false})
    const value = computed.stricthostkeychecking
    if (typeof value !== 'string') continue
    const setting = value.toLowerCase()
    return {check: setting === 'yes' || setting === 'ask' || setting === 'true' ? 'yes' : 'accept-new', setting, file}
  }
  return {check: 'accept-new'}
}

/** The policy for a host from the settings' config files (the user's ~/.ssh, the system's /etc/ssh). */
export function hostKeyPolicyFor(settings: SshSettings, host: string, user?: string, home: string = homedir()): HostKeyPolicy {
  const configs = settings.sshConfigFiles.map((file) => ({file, text: readSshConfig(file, file.startsWith('/etc/') ? '/etc/ssh' : join(home, '.ssh'), home)}))
  return hostKeyPolicy(configs, host, user)
}

// ---------------------------------------------------------------------------------------------
// known_hosts (pure)

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

/** Is a private key file protected by a passphrase? (Those need ssh-agent: tta never prompts.) */
export function isEncryptedKey(text: string): boolean {
  if (/^Proc-Type:.*ENCRYPTED/m.test(text) || text.includes('BEGIN ENCRYPTED PRIVATE KEY')) return true
  const match = /-----BEGIN OPENSSH PRIVATE KEY-----([\s\S]*?)-----END OPENSSH PRIVATE KEY-----/.exec(text)
  if (!match?.[1]) return false
  const body = Buffer.from(match[1].replace(/\s+/g, ''), 'base64')
  const magic = 'openssh-key-v1\0'
  if (body.subarray(0, magic.length).toString('latin1') !== magic) return false
  const length = body.readUInt32BE(magic.length)
  return body.subarray(magic.length + 4, magic.length + 4 + length).toString('latin1') !== 'none'
}

export interface LoadedIdentities {
  keys: Array<{file: string; data: Buffer}>
  skipped: Array<{file: string; reason: string}>
}

export function loadIdentities(files: readonly string[]): LoadedIdentities {
  const result: LoadedIdentities = {keys: [], skipped: []}
  for (const file of files) {
    try {
      const data = readFileSync(file)
      if (isEncryptedKey(data.toString('latin1'))) result.skipped.push({file, reason: 'has a passphrase (add it to ssh-agent: ssh-add)'})
      else result.keys.push({file, data})
    } catch (error) {
      result.skipped.push({file, reason: (error as NodeJS.ErrnoException).code ?? (error as Error).message})
    }
  }
  return result
}

// ---------------------------------------------------------------------------------------------
// the transport: one SSH connection per host, one `docker system dial-stdio` channel per request

/** An SSH failure with what to do about it; the engine client turns it into exit code 3. */
export class SshError extends Error {
  constructor(
    message: string,
    readonly hint: string,
    readonly code: 'TTA_SSH_AUTH' | 'TTA_SSH_HOSTKEY' | 'TTA_SSH_CONNECT' | 'TTA_SSH_REMOTE',
  ) {
    super(message)
    this.name = 'SshError'
  }
}

export interface SshTarget {
  host: string
  port: number
  username: string
}

/** sshd allows 10 sessions per connection by default (MaxSessions); stay under it, open another connection beyond. */
const CHANNELS_PER_CONNECTION = 8
const HANDSHAKE_TIMEOUT_MS = 20_000

type Ssh2 = {Client: new () => Client}
let ssh2: Ssh2 | undefined
/** ssh2 comes with dockerode (docker-modem): load the copy it uses. */
function loadSsh2(): Ssh2 {
  if (!ssh2) {
    const local = createRequire(import.meta.url)
    ssh2 = createRequire(local.resolve('docker-modem'))('ssh2') as Ssh2
  }
  return ssh2
}

interface PooledConnection {
  client: Client
  socket: Socket
  ready: Promise<void>
  /** Channels open on it (sshd's MaxSessions counts these). */
  open: number
  /** Channels carrying a request right now: the process must not exit under them. */
  busy: number
  closed: boolean
}

/** What Node's http.Agent calls on a socket, beyond a Duplex: ref/unref mark a kept-alive channel busy or idle. */
interface ChannelSocket extends Duplex {
  ref(): ChannelSocket
  unref(): ChannelSocket
  setKeepAlive(): ChannelSocket
  setNoDelay(): ChannelSocket
  setTimeout(ms: number, callback?: () => void): ChannelSocket
}

/** Idle dial-stdio channels kept for the next requests (each is a `docker system dial-stdio` process on the host). */
const IDLE_CHANNELS = 8

/**
 * A pool of SSH connections to one host, each carrying up to 8 `docker system dial-stdio`
 * channels, each channel carrying one HTTP request at a time and kept alive for the next (a new
 * channel costs a round trip and a process start on the host). Idle channels and connections
 * never keep the process alive (the TCP socket is unref'd when nothing is in flight).
 */
export class SshTransport {
  private readonly pool: PooledConnection[] = []
  /** Why the last host key or authentication was refused, for the error. */
  private refusal: SshError | undefined

  constructor(
    readonly target: SshTarget,
    readonly settings: SshSettings,
  ) {}

  get label(): string {
    return `${this.target.username}@${knownHostName(this.target.host, this.target.port)}`
  }

  /** An http.Agent whose sockets are dial-stdio channels: what dockerode's modem needs. */
  agent(): Agent {
    const agent = new Agent({keepAlive: true, maxSockets: Infinity, maxFreeSockets: IDLE_CHANNELS} as AgentOptions)
    const open = (_options: unknown, callback: (error: Error | null, socket?: Duplex) => void): undefined => {
      this.channel().then(
        (stream) => callback(null, stream),
        (error: Error) => callback(error),
      )
      return undefined
    }
    // Node's Agent accepts an asynchronous createConnection (callback form).
    ;(agent as unknown as {createConnection: typeof open}).createConnection = open
    return agent
  }

  /** Opens a `docker system dial-stdio` channel: a byte stream to the engine's API. */
  async channel(): Promise<ChannelSocket> {
    const conn = this.pool.find((c) => !c.closed && c.open < CHANNELS_PER_CONNECTION) ?? this.connect()
    conn.open++
    this.busy(conn, +1)
    let channel: ClientChannel
    try {
      await conn.ready
      channel = await new Promise<ClientChannel>((resolvePromise, reject) => {
        conn.client.exec('docker system dial-stdio', (error, opened) => (error ? reject(error) : resolvePromise(opened)))
      })
    } catch (error) {
      conn.open--
      this.busy(conn, -1)
      this.idle(conn)
      throw this.refusal ?? this.explain(error as Error & {level?: string; code?: string})
    }
    const stream = channel as unknown as ChannelSocket
    let busy = true
    stream.ref = () => {
      if (!busy) this.busy(conn, +1)
      busy = true
      return stream
    }
    stream.unref = () => {
      if (busy) this.busy(conn, -1)
      busy = false
      return stream
    }
    stream.setKeepAlive = () => stream
    stream.setNoDelay = () => stream
    stream.setTimeout = () => stream
    stream.once('close', () => {
      stream.unref()
      conn.open--
      this.idle(conn)
    })
    let stderr = ''
    channel.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < 2000) stderr += chunk.toString('utf8')
    })
    channel.once('exit', (code: number | null) => {
      if (!code) return
      const said = stderr.trim().split('\n').slice(-1)[0]
      stream.destroy(new SshError(`ssh ${this.label}: \`docker system dial-stdio\` exited with code ${code}${said ? `: ${said}` : ''}`, 'install the docker CLI on the host (on the PATH of ssh sessions) and let this user reach the engine there (the docker group, or root)', 'TTA_SSH_REMOTE'))
    })
    return stream
  }

  private busy(conn: PooledConnection, delta: number): void {
    conn.busy += delta
    if (conn.busy > 0) conn.socket.ref()
    else conn.socket.unref()
  }

  /** A connection without channels: the first stays (unref'd) for later requests, extra ones close. */
  private idle(conn: PooledConnection): void {
    if (conn.open > 0 || conn.closed) return
    if (this.pool.indexOf(conn) > 0) this.close(conn)
  }

  private close(conn: PooledConnection): void {
    conn.closed = true
    const at = this.pool.indexOf(conn)
    if (at >= 0) this.pool.splice(at, 1)
    conn.client.end()
    conn.socket.destroy()
  }

  private connect(): PooledConnection {
    const {Client: SshClient} = loadSsh2()
    const client = new SshClient()
    const socket = netConnect({host: this.target.host.replace(/^\[|\]$/g, ''), port: this.target.port})
    socket.setNoDelay(true)
    const conn: PooledConnection = {client, socket, ready: Promise.resolve(), open: 0, busy: 0, closed: false}
    const name = knownHostName(this.target.host, this.target.port)
    const lines = this.knownHosts()
    const identities = loadIdentities(this.settings.identityFiles)
    const methods: Array<AgentAuthMethod | PublicKeyAuthMethod> = []
    if (this.settings.agent) methods.push({type: 'agent', username: this.target.username, agent: this.settings.agent})
    for (const key of identities.keys) methods.push({type: 'publickey', username: this.target.username, key: key.data})
    const offered = [...(this.settings.agent ? ['ssh-agent'] : []), ...identities.keys.map((k) => k.file)]
    this.refusal = undefined
    conn.ready = new Promise<void>((resolvePromise, reject) => {
      client.once('ready', () => resolvePromise())
      client.on('error', (error: Error & {level?: string}) => {
        if (error.level === 'client-authentication') {
          const skipped = identities.skipped.map((s) => `${s.file} ${s.reason}`)
          this.refusal = new SshError(
            offered.length === 0
              ? `ssh ${this.label}: no key to offer (no ssh-agent in SSH_AUTH_SOCK, none of ${this.settings.defaultIdentities.join(', ')}${skipped.length > 0 ? `; skipped: ${skipped.join('; ')}` : ''})`
              : `ssh ${this.label} refused the keys offered (${offered.join(', ')})${skipped.length > 0 ? `; skipped: ${skipped.join('; ')}` : ''}`,
            `authorize one of them on the host (the account's ~/.ssh/authorized_keys), or name the right key: identityFile: in the deploy target, or ${IDENTITY_ENV}=PATH`,
            'TTA_SSH_AUTH',
          )
        }
        reject(this.refusal ?? this.explain(error))
      })
      client.once('close', () => {
        conn.closed = true
        const at = this.pool.indexOf(conn)
        if (at >= 0) this.pool.splice(at, 1)
        reject(this.refusal ?? new SshError(`ssh ${this.label}: the connection closed during the handshake`, 'check that an SSH server listens there', 'TTA_SSH_CONNECT'))
      })
    })
    // Only its failure matters here; callers await it.
    conn.ready.catch(() => undefined)
    const config: ConnectConfig = {
      sock: socket,
      username: this.target.username,
      readyTimeout: HANDSHAKE_TIMEOUT_MS,
      authHandler: methods,
      algorithms: {serverHostKey: preferredHostKeyAlgorithms(lines, name) as NonNullable<NonNullable<ConnectConfig['algorithms']>['serverHostKey']>},
      hostVerifier: (blob: Buffer): boolean => this.verifyHostKey(name, blob),
    }
    client.connect(config)
    this.pool.push(conn)
    return conn
  }

  private knownHosts(): KnownHostLine[] {
    const lines: KnownHostLine[] = []
    for (const file of this.settings.readKnownHosts) {
      try {
        lines.push(...parseKnownHosts(readFileSync(file, 'utf8'), file))
      } catch {
        // Absent or unreadable: OpenSSH ignores it too.
      }
    }
    return lines
  }

  /**
   * accept-new: a known key passes, a new host's key is recorded in tta's file, a changed or revoked
   * one is refused. With the user's StrictHostKeyChecking yes (or ask) for this host, a new host is
   * refused too.
   */
  private verifyHostKey(name: string, blob: Buffer): boolean {
    const verdict = hostKeyVerdict(this.knownHosts(), name, blob)
    if (verdict.verdict === 'known') return true
    if (verdict.verdict === 'unknown') {
      const policy = hostKeyPolicyFor(this.settings, this.target.host, this.target.username)
      if (policy.check === 'yes') {
        const port = this.target.port === 22 ? '' : `-p ${this.target.port} `
        this.refusal = new SshError(
          `ssh ${this.label}: the host key (${keyType(blob)}) is not known, and StrictHostKeyChecking ${policy.setting} (${policy.file}) refuses unknown hosts; tta records no key`,
          `check the host's fingerprint, then add its key: ssh-keyscan ${port}${this.target.host} >> ~/.ssh/known_hosts (or connect once with ssh yourself)`,
          'TTA_SSH_HOSTKEY',
        )
        return false
      }
      const file = this.settings.knownHostsFile
      mkdirSync(dirname(file), {recursive: true, mode: 0o700})
      appendFileSync(file, `${knownHostLine(name, blob)}\n`, {mode: 0o600})
      return true
    }
    const where = `${verdict.line.file}:${verdict.line.line}`
    this.refusal =
      verdict.verdict === 'revoked'
        ? new SshError(`ssh ${this.label}: the host key (${keyType(blob)}) is revoked (${where})`, 'do not connect; ask the host owner', 'TTA_SSH_HOSTKEY')
        : new SshError(
            `ssh ${this.label}: the host key (${keyType(blob)}) does not match the one recorded in ${where}; refusing to connect (someone may be intercepting the connection, or the host was reinstalled)`,
            `if the host really changed its key, remove the old one: ssh-keygen -R '${name}' -f ${verdict.line.file}`,
            'TTA_SSH_HOSTKEY',
          )
    return false
  }

  private explain(error: Error & {level?: string; code?: string}): Error {
    if (error instanceof SshError) return error
    const reason = error.code === 'ECONNREFUSED' ? 'connection refused' : error.code === 'ENOTFOUND' ? 'no such host' : error.code === 'EHOSTUNREACH' ? 'host unreachable' : error.message
    return new SshError(`ssh ${this.label}: ${reason}`, 'check the host name and port, and that an SSH server runs there and this machine may reach it', 'TTA_SSH_CONNECT')
  }
}

const transports = new Map<string, SshTransport>()

/** The transport for an ssh:// URL, shared by every client of that host in this process. */
export function sshTransport(host: string, env: NodeJS.ProcessEnv = process.env): SshTransport {
  const url = new URL(host)
  const target: SshTarget = {
    host: url.hostname,
    port: url.port ? Number(url.port) : 22,
    username: decodeURIComponent(url.username) || userInfo().username,
  }
  const settings = sshSettings(env)
  const key = JSON.stringify([target, settings])
  let transport = transports.get(key)
  if (!transport) {
    transport = new SshTransport(target, settings)
    transports.set(key, transport)
  }
  return transport
}

// ---------------------------------------------------------------------------------------------
// the docker CLI: it runs `ssh` from the PATH

const shellQuote = (value: string): string => `'${value.replace(/'/g, `'\\''`)}'`

/**
 * The `ssh` the docker CLI runs for ssh:// engines: the real one, non-interactive (BatchMode: a
 * prompt would hang a build), with tta's known_hosts first (accept-new records new hosts there)
 * and the user's after it, and the same keys tta's own client offers. Pure.
 */
export function sshWrapperScript(realSsh: string, settings: SshSettings, check: HostKeyPolicy['check'] = 'accept-new'): string {
  const knownHosts = [settings.knownHostsFile, ...settings.readKnownHosts.filter((f) => f !== settings.knownHostsFile && !f.startsWith('/etc/'))].map((f) => `"${f}"`).join(' ')
  // A -o on the command line wins over ~/.ssh/config: the user's `yes` is passed on, never weakened.
  const args = ['-o', 'BatchMode=yes', '-o', `StrictHostKeyChecking=${check}`, '-o', `UserKnownHostsFile=${knownHosts}`, ...settings.identityFiles.flatMap((f) => ['-i', f])]
  return ['#!/bin/sh', '# Written by tta for the docker CLI (ssh:// engines); see docs/deploy.md.', `exec ${[realSsh, ...args].map(shellQuote).join(' ')} "$@"`, ''].join('\n')
}

function findOnPath(name: string, path: string | undefined, skip: string): string | undefined {
  for (const dir of (path ?? '').split(delimiter)) {
    if (!dir || dir.startsWith(skip)) continue
    const file = join(dir, name)
    try {
      if (statSync(file).isFile()) return file
    } catch {
      // not here
    }
  }
  return undefined
}

/**
 * Environment for a docker CLI child that talks to `host`: for ssh://, PATH starts with a
 * directory holding tta's `ssh` wrapper. Empty for other engines, or when no ssh is installed
 * (the CLI then fails with its own message).
 */
export function dockerCliSshEnv(host: string, env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  if (!host.startsWith('ssh:')) return {}
  const settings = sshSettings(env)
  const binRoot = join(sshStateDir(env), 'bin')
  const real = findOnPath('ssh', env.PATH, binRoot)
  if (!real) return {}
  const url = new URL(host)
  const script = sshWrapperScript(real, settings, hostKeyPolicyFor(settings, url.hostname, decodeURIComponent(url.username) || undefined).check)
  // One directory per script: concurrent runs with other keys never overwrite each other's.
  const dir = join(binRoot, createHash('sha256').update(script).digest('hex').slice(0, 12))
  const file = join(dir, 'ssh')
  mkdirSync(dir, {recursive: true, mode: 0o700})
  mkdirSync(dirname(settings.knownHostsFile), {recursive: true, mode: 0o700})
  if (!existsSync(file) || readFileSync(file, 'utf8') !== script) {
    // Written beside, then renamed: a concurrent tta never runs half a script.
    const tmp = `${file}.${process.pid}`
    writeFileSync(tmp, script, {mode: 0o700})
    chmodSync(tmp, 0o700)
    renameSync(tmp, file)
  }
  return {PATH: `${dir}${delimiter}${env.PATH ?? ''}`}
}
