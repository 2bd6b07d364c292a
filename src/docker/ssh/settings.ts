// Where ssh state lives and what the user's OpenSSH config says (identity files, host-key policy).
import {existsSync, readdirSync, readFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {homedir} from 'node:os'
import {basename, dirname, isAbsolute, join, resolve} from 'node:path'

import {ExitCode, TtaError} from '../../errors.js'

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
