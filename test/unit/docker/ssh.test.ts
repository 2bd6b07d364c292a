import {createHmac, generateKeyPairSync} from 'node:crypto'
import {existsSync, mkdirSync, mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {sshWrapperScript} from '../../../src/docker/ssh/docker-cli.js'
import {isEncryptedKey, loadIdentities} from '../../../src/docker/ssh/identities.js'
import {hostKeyVerdict, keyType, knownHostLine, knownHostName, matchesHost, parseKnownHosts, preferredHostKeyAlgorithms} from '../../../src/docker/ssh/known-hosts.js'
import {hostKeyPolicy, hostKeyPolicyFor, readSshConfig, sshSettings, sshStateDir} from '../../../src/docker/ssh/settings.js'
import {TtaError} from '../../../src/errors.js'

/** An SSH public key blob: string type, then the key's fields (content does not matter here). */
function blob(type: string, body: string): Buffer {
  const t = Buffer.from(type)
  const b = Buffer.from(body)
  const out = Buffer.alloc(8 + t.length + b.length)
  out.writeUInt32BE(t.length, 0)
  t.copy(out, 4)
  out.writeUInt32BE(b.length, 4 + t.length)
  b.copy(out, 8 + t.length)
  return out
}

const ed = blob('ssh-ed25519', 'server-key-1')
const edOther = blob('ssh-ed25519', 'impostor')
const rsa = blob('ssh-rsa', 'rsa-key')

describe('known_hosts', () => {
  it('names a host as OpenSSH does: bare on port 22, [host]:port otherwise', () => {
    expect(knownHostName('example.com', 22)).toBe('example.com')
    expect(knownHostName('127.0.0.1', 2222)).toBe('[127.0.0.1]:2222')
    expect(knownHostName('[::1]', 2222)).toBe('[::1]:2222')
  })

  it('matches plain, wildcard, negated and hashed host fields', () => {
    expect(matchesHost('a.example.com,b.example.com', 'b.example.com')).toBe(true)
    expect(matchesHost('*.example.com', 'B.Example.com')).toBe(true)
    expect(matchesHost('*.example.com,!bad.example.com', 'bad.example.com')).toBe(false)
    expect(matchesHost('host?', 'host1')).toBe(true)
    expect(matchesHost('[127.0.0.1]:2222', '127.0.0.1')).toBe(false)
    const salt = Buffer.from('0123456789abcdefghij')
    const hashed = `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update('[127.0.0.1]:2222').digest('base64')}`
    expect(matchesHost(hashed, '[127.0.0.1]:2222')).toBe(true)
    expect(matchesHost(hashed, '[127.0.0.1]:2223')).toBe(false)
  })

  it('reads the key type from a blob, and writes hashed lines that match back', () => {
    expect(keyType(ed)).toBe('ssh-ed25519')
    const line = knownHostLine('[127.0.0.1]:2222', ed, Buffer.alloc(20, 7))
    expect(line).toMatch(/^\|1\|[A-Za-z0-9+/=]+\|[A-Za-z0-9+/=]+ ssh-ed25519 [A-Za-z0-9+/=]+$/)
    const parsed = parseKnownHosts(`${line}\n`, 'kh')
    expect(hostKeyVerdict(parsed, '[127.0.0.1]:2222', ed)).toMatchObject({verdict: 'known'})
  })

  it('decides known, unknown, changed (same key type) and revoked, skipping comments and CA lines', () => {
    const text = [
      '# comment',
      '',
      `example.com ssh-ed25519 ${ed.toString('base64')}`,
      `other.com ssh-rsa ${rsa.toString('base64')} comment here`,
      `@cert-authority *.example.com ssh-ed25519 ${edOther.toString('base64')}`,
      `@revoked * ssh-ed25519 ${blob('ssh-ed25519', 'stolen').toString('base64')}`,
      'garbage',
    ].join('\n')
    const lines = parseKnownHosts(text, '/home/u/.ssh/known_hosts')
    expect(lines.map((l) => [l.line, l.marker ?? '', l.patterns])).toEqual([
      [3, '', 'example.com'],
      [4, '', 'other.com'],
      [5, 'cert-authority', '*.example.com'],
      [6, 'revoked', '*'],
    ])
    expect(hostKeyVerdict(lines, 'example.com', ed)).toMatchObject({verdict: 'known'})
    expect(hostKeyVerdict(lines, 'example.com', edOther)).toMatchObject({verdict: 'changed', line: {file: '/home/u/.ssh/known_hosts', line: 3}})
    expect(hostKeyVerdict(lines, 'new.example.com', ed)).toEqual({verdict: 'unknown'})
    // A key of another type than the recorded one: new to OpenSSH too (accept-new adds it).
    expect(hostKeyVerdict(lines, 'other.com', ed)).toEqual({verdict: 'unknown'})
    expect(hostKeyVerdict(lines, 'anything', blob('ssh-ed25519', 'stolen'))).toMatchObject({verdict: 'revoked', line: {line: 6}})
  })

  it('offers the host key types already known for a host first', () => {
    const lines = parseKnownHosts(`[h]:2222 ssh-rsa ${rsa.toString('base64')}\n`, 'kh')
    expect(preferredHostKeyAlgorithms(lines, '[h]:2222').slice(0, 3)).toEqual(['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'])
    expect(preferredHostKeyAlgorithms(lines, 'elsewhere')[0]).toBe('ssh-ed25519')
  })
})

describe('keys and settings', () => {
  it('tells keys with a passphrase (OpenSSH and PEM) from plain ones', () => {
    const section = (s: string): Buffer => {
      const b = Buffer.alloc(4 + s.length)
      b.writeUInt32BE(s.length, 0)
      b.write(s, 4, 'latin1')
      return b
    }
    const openssh = (cipher: string): string =>
      `-----BEGIN OPENSSH PRIVATE KEY-----\n${Buffer.concat([Buffer.from('openssh-key-v1\0', 'latin1'), section(cipher), section('bcrypt')]).toString('base64')}\n-----END OPENSSH PRIVATE KEY-----\n`
    expect(isEncryptedKey(openssh('none'))).toBe(false)
    expect(isEncryptedKey(openssh('aes256-ctr'))).toBe(true)
    expect(isEncryptedKey('-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nabc\n-----END RSA PRIVATE KEY-----\n')).toBe(true)
    const pem = generateKeyPairSync('ec', {namedCurve: 'prime256v1'}).privateKey.export({type: 'sec1', format: 'pem'}) as string
    expect(isEncryptedKey(pem)).toBe(false)
    const dir = mkdtempSync(join(tmpdir(), 'tta-sshkeys-'))
    writeFileSync(join(dir, 'plain'), pem)
    writeFileSync(join(dir, 'locked'), openssh('aes256-ctr'))
    const loaded = loadIdentities([join(dir, 'plain'), join(dir, 'locked'), join(dir, 'absent')])
    expect(loaded.keys.map((k) => k.file)).toEqual([join(dir, 'plain')])
    expect(loaded.skipped).toEqual([
      {file: join(dir, 'locked'), reason: 'has a passphrase (add it to ssh-agent: ssh-add)'},
      {file: join(dir, 'absent'), reason: 'ENOENT'},
    ])
  })

  it('offers the explicit key first, then the default ones that exist; tta’s known_hosts lives under XDG_CONFIG_HOME', () => {
    const home = mkdtempSync(join(tmpdir(), 'tta-sshhome-'))
    mkdirSync(join(home, '.ssh'))
    writeFileSync(join(home, '.ssh', 'id_rsa'), 'k')
    writeFileSync(join(home, 'deploy_key'), 'k')
    const settings = sshSettings({TTA_SSH_IDENTITY: '~/deploy_key', SSH_AUTH_SOCK: '/run/agent.sock'}, home)
    expect(settings.identityFiles).toEqual([join(home, 'deploy_key'), join(home, '.ssh', 'id_rsa')])
    expect(settings.agent).toBe('/run/agent.sock')
    expect(settings.knownHostsFile).toBe(join(home, '.config', 'tta', 'ssh', 'known_hosts'))
    expect(settings.readKnownHosts.slice(0, 2)).toEqual([settings.knownHostsFile, join(home, '.ssh', 'known_hosts')])
    expect(sshStateDir({XDG_CONFIG_HOME: '/x/cfg'}, home)).toBe('/x/cfg/tta/ssh')
    expect(sshStateDir({XDG_CONFIG_HOME: 'relative'}, home)).toBe(join(home, '.config', 'tta', 'ssh'))
    expect(() => sshSettings({TTA_SSH_IDENTITY: '/no/such/key'}, home)).toThrow(TtaError)
    expect(() => sshSettings({TTA_SSH_IDENTITY: '/no/such/key'}, home)).toThrow(/TTA_SSH_IDENTITY=\/no\/such\/key: no such file/)
  })

  it('writes an ssh wrapper for the docker CLI: batch mode, accept-new into tta’s file first, the same keys, never StrictHostKeyChecking=no', () => {
    const script = sshWrapperScript('/usr/bin/ssh', {
      knownHostsFile: '/h/.config/tta/ssh/known_hosts',
      readKnownHosts: ['/h/.config/tta/ssh/known_hosts', "/h/it's/.ssh/known_hosts", '/etc/ssh/ssh_known_hosts'],
      identityFiles: ['/h/deploy key'],
      defaultIdentities: [],
      sshConfigFiles: [],
    })
    expect(script.split('\n')[0]).toBe('#!/bin/sh')
    expect(script).toContain(
      `exec '/usr/bin/ssh' '-o' 'BatchMode=yes' '-o' 'StrictHostKeyChecking=accept-new' '-o' 'UserKnownHostsFile="/h/.config/tta/ssh/known_hosts" "/h/it'\\''s/.ssh/known_hosts"' '-i' '/h/deploy key' "$@"`,
    )
    expect(script).not.toContain('StrictHostKeyChecking=no')
  })

  it('passes the user\'s StrictHostKeyChecking yes on to the docker CLI\'s ssh', () => {
    const script = sshWrapperScript('/usr/bin/ssh', {knownHostsFile: '/k', readKnownHosts: ['/k'], identityFiles: [], defaultIdentities: [], sshConfigFiles: []}, 'yes')
    expect(script).toContain("'StrictHostKeyChecking=yes'")
    expect(script).not.toContain('accept-new')
  })
})

describe('StrictHostKeyChecking from the user\'s ssh config', () => {
  const policy = (text: string, host: string, system = ''): ReturnType<typeof hostKeyPolicy> =>
    hostKeyPolicy([{file: '/home/u/.ssh/config', text}, {file: '/etc/ssh/ssh_config', text: system}], host, 'deploy')

  it('yes or ask for the host refuses unknown hosts, naming the file; other hosts and no setting stay accept-new', () => {
    const config = 'Host *.prod.example.com !canary.prod.example.com\n  StrictHostKeyChecking yes\nHost bastion\n  StrictHostKeyChecking=ask\n'
    expect(policy(config, 'db.prod.example.com')).toEqual({check: 'yes', setting: 'yes', file: '/home/u/.ssh/config'})
    expect(policy(config, 'bastion')).toEqual({check: 'yes', setting: 'ask', file: '/home/u/.ssh/config'})
    expect(policy(config, 'canary.prod.example.com')).toEqual({check: 'accept-new'})
    expect(policy(config, 'staging.example.com')).toEqual({check: 'accept-new'})
    expect(policy('', 'x')).toEqual({check: 'accept-new'})
  })

  it('the first value wins, the user\'s file before the system\'s, keywords in any case', () => {
    expect(policy('Host x\n  stricthostkeychecking accept-new\nHost *\n  StrictHostKeyChecking yes\n', 'x').check).toBe('accept-new')
    expect(policy('', 'x', 'Host *\n  STRICTHOSTKEYCHECKING yes\n')).toEqual({check: 'yes', setting: 'yes', file: '/etc/ssh/ssh_config'})
    expect(policy('StrictHostKeyChecking yes\n', 'anything').check).toBe('yes')
    // `no` never turns checking off in tta: a new host is recorded, a changed key refused.
    expect(policy('Host *\n  StrictHostKeyChecking no\n', 'x')).toEqual({check: 'accept-new', setting: 'no', file: '/home/u/.ssh/config'})
  })

  it('never runs Match exec', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tta-sshexec-'))
    const marker = join(dir, 'ran')
    expect(policy(`Match exec "touch ${marker}"\n  StrictHostKeyChecking yes\n`, 'x').check).toBe('accept-new')
    expect(existsSync(marker)).toBe(false)
  })

  it('reads Include files in place (relative to ~/.ssh, with wildcards), and the files tta settings name', () => {
    const home = mkdtempSync(join(tmpdir(), 'tta-sshcfg-'))
    mkdirSync(join(home, '.ssh', 'config.d'), {recursive: true})
    writeFileSync(join(home, '.ssh', 'config'), 'Include config.d/*.conf\nHost *\n  StrictHostKeyChecking accept-new\n')
    writeFileSync(join(home, '.ssh', 'config.d', 'prod.conf'), 'Host prod-*\n  StrictHostKeyChecking yes\n')
    const settings = {...sshSettings({}, home), sshConfigFiles: [join(home, '.ssh', 'config'), join(home, 'absent')]}
    expect(sshSettings({}, home).sshConfigFiles).toEqual([join(home, '.ssh', 'config'), '/etc/ssh/ssh_config'])
    expect(hostKeyPolicyFor(settings, 'prod-1', undefined, home)).toEqual({check: 'yes', setting: 'yes', file: join(home, '.ssh', 'config')})
    expect(hostKeyPolicyFor(settings, 'dev-1', undefined, home).check).toBe('accept-new')
    expect(readSshConfig(join(home, '.ssh', 'config'), join(home, '.ssh'), home)).toContain('Host prod-*')
  })
})
