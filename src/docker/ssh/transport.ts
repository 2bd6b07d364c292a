import {appendFileSync, mkdirSync, readFileSync} from 'node:fs'
import {Agent, type AgentOptions} from 'node:http'
import {createRequire} from 'node:module'
import {connect as netConnect, type Socket} from 'node:net'
import {userInfo} from 'node:os'
import {dirname} from 'node:path'
import type {Duplex} from 'node:stream'
import type {AgentAuthMethod, Client, ClientChannel, ConnectConfig, PublicKeyAuthMethod} from 'ssh2'

import {loadIdentities} from './identities.js'
import {hostKeyVerdict, keyType, knownHostLine, knownHostName, type KnownHostLine, parseKnownHosts, preferredHostKeyAlgorithms} from './known-hosts.js'
import {hostKeyPolicyFor, IDENTITY_ENV, sshSettings, type SshSettings} from './settings.js'

/**
 * ssh:// Docker engines. tta talks to them the way the docker CLI does (`docker system
 * dial-stdio` on the host, over SSH), with the host keys and private keys an OpenSSH user
 * expects: keys from the agent, an explicit identity file (TTA_SSH_IDENTITY, or a deploy
 * target's `identityFile:`), then ~/.ssh/id_ed25519, id_rsa, id_ecdsa; host keys checked
 * against ~/.ssh/known_hosts and tta's own known_hosts, a new host's key added to tta's file
 * (OpenSSH's StrictHostKeyChecking=accept-new), a changed key refused. The docker CLI (builds)
 * gets the same through a small `ssh` wrapper on its PATH.
 */
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
/** ssh2 (CommonJS) loads only for an ssh:// engine: the other commands do not pay for it at start-up. */
function loadSsh2(): Ssh2 {
  ssh2 ??= createRequire(import.meta.url)('ssh2') as Ssh2
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

  /** An http.Agent whose sockets are dial-stdio channels: what tta's HTTP client (docker/api.ts) sends through. */
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
