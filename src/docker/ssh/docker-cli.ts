// The docker CLI (builds against ssh:// engines) runs `ssh` from the PATH: tta puts a wrapper
// there that uses the same keys and host-key policy as its own client.
import {createHash} from 'node:crypto'
import {chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync} from 'node:fs'
import {delimiter, dirname, join} from 'node:path'

import {type HostKeyPolicy, hostKeyPolicyFor, sshSettings, sshStateDir, type SshSettings} from './settings.js'

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
