// The compose deploy target on a Docker host reached over SSH, end to end: the test runs its own
// sshd (openssh-server) on a free 127.0.0.1 port with a generated host key, a generated client
// key and its own sshd_config, all in a temp dir (nothing in /etc/ssh or ~/.ssh is touched; tta's
// known_hosts goes to a temp XDG_CONFIG_HOME). The "remote" engine is this machine's, reached
// through `docker system dial-stdio` over that sshd.
import {type ChildProcess, spawn} from 'node:child_process'
import {cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {connect} from 'node:net'
import {homedir, tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {gitIn, startRegistry} from './deploy-helpers.js'
import {cleanupProject, freePort, httpGet, repoRoot, run, runTta, standinImage, uniqueProject, waitFor} from './helpers.js'

const SSHD = '/usr/sbin/sshd'
const project = uniqueProject('deploy-ssh')
let dir = ''
let workspace = ''
let xdg = ''
let sshPort = 0
let registryPort = 0
let apiPort = 0
let downPort = 0
let sshd: ChildProcess | undefined
const registryName = `${project}-registry`
const userKnownHosts = join(homedir(), '.ssh', 'known_hosts')
let userKnownHostsBefore: string | undefined

const host = (): string => `ssh://root@127.0.0.1:${sshPort}`

const git = gitIn(() => workspace)

function tta(args: string[], env: Record<string, string> = {}) {
  return runTta([...args, '--workspace', workspace], {env: {TTA_API_PORT: String(apiPort), XDG_CONFIG_HOME: xdg, SSH_AUTH_SOCK: '', ...env}, timeoutMs: 150_000})
}

async function keygen(file: string): Promise<void> {
  const result = await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'tta-e2e', '-f', file], {timeoutMs: 30_000})
  if (result.code !== 0) throw new Error(`ssh-keygen: ${result.stderr}`)
}

/** The SSH banner on the port: sshd is listening. */
function sshBanner(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({host: '127.0.0.1', port})
    const done = (ok: boolean): void => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(1000, () => done(false))
    socket.once('data', (chunk: Buffer) => done(chunk.toString('latin1').startsWith('SSH-')))
    socket.once('error', () => done(false))
  })
}

function writeConfig(): void {
  writeFileSync(
    join(workspace, 'tta.config.yaml'),
    [
      'images:',
      `  redis:7.2.4-alpine: ${standinImage('redis')}`,
      'deploy:',
      '  staging:',
      '    type: compose',
      `    host: ${host()}`,
      `    identityFile: ${join(dir, 'client_key')}`,
      `    registry: 127.0.0.1:${registryPort}`,
      '    files: [deploy.yml, compose.yml]',
      `    projectName: ${project}`,
      '    timeout: 60',
      '  down:',
      '    type: compose',
      // A free port: nothing listens there.
      `    host: ssh://root@127.0.0.1:${downPort}`,
      `    projectName: ${project}`,
      '  stranger:',
      '    type: compose',
      `    host: ${host()}`,
      `    identityFile: ${join(dir, 'stranger_key')}`,
      `    projectName: ${project}`,
      '',
    ].join('\n'),
  )
}

beforeAll(async () => {
  if (!existsSync(SSHD)) throw new Error(`e2e: ${SSHD} is missing: apt-get install -y openssh-server`)
  userKnownHostsBefore = existsSync(userKnownHosts) ? readFileSync(userKnownHosts, 'utf8') : undefined
  dir = mkdtempSync(join(tmpdir(), 'tta-ssh-'))
  xdg = join(dir, 'xdg')
  sshPort = await freePort()
  registryPort = await freePort()
  apiPort = await freePort()
  downPort = await freePort()
  await keygen(join(dir, 'host_key'))
  await keygen(join(dir, 'client_key'))
  await keygen(join(dir, 'stranger_key'))
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'client_key.pub')), {mode: 0o600})
  writeFileSync(
    join(dir, 'sshd_config'),
    [
      `Port ${sshPort}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${join(dir, 'host_key')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      // The temp dir sits under the world-writable /tmp, which StrictModes would refuse.
      'StrictModes no',
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'MaxStartups 100',
      '',
    ].join('\n'),
  )
  // sshd's privilege separation directory (compiled in); the package's service would create it.
  mkdirSync('/run/sshd', {recursive: true, mode: 0o755})
  const log = openSync(join(dir, 'sshd.log'), 'a')
  sshd = spawn(SSHD, ['-D', '-e', '-f', join(dir, 'sshd_config')], {stdio: ['ignore', log, log]})
  await waitFor(async () => (await sshBanner(sshPort)) || undefined, {timeoutMs: 15_000, description: `sshd on 127.0.0.1:${sshPort}`})

  workspace = mkdtempSync(join(tmpdir(), 'tta-deploy-ssh-ws-'))
  cpSync(join(repoRoot, 'test/fixtures/deploy-workspace'), workspace, {recursive: true})
  writeFileSync(join(workspace, '.env'), "TTA_REDIS_PASSWORD='e2e-Ssh-Redis-Password-41c2'\n")
  writeConfig()
  writeFileSync(join(workspace, '.gitignore'), '.env\n')
  await git(['init', '-q'])
  await git(['add', '-A'])
  await git(['commit', '-q', '-m', 'v1'])

  // On a network of its own: nothing depends on the engine's default bridge.
  await startRegistry(project, registryName, registryPort)
}, 120_000)

afterAll(async () => {
  if (sshd?.pid) sshd.kill('SIGTERM')
  await cleanupProject(project, {images: true})
  if (workspace) rmSync(workspace, {recursive: true, force: true})
  if (dir) rmSync(dir, {recursive: true, force: true})
}, 120_000)

describe('tta deploy to a compose target over SSH', () => {
  it('deploys v1 through ssh://root@127.0.0.1:PORT with the target’s identityFile; the API answers v1', async () => {
    const result = await tta(['deploy', 'staging', '-y', '--version', 'v1'])
    expect(result.stderr).not.toMatch(/^\s+at /m)
    expect(result.stdout).toContain('deployed v1 on staging')
    expect(result.code).toBe(0)
    expect((await httpGet(`http://127.0.0.1:${apiPort}/version`)).body.trim()).toBe('v1')
    // The host key went to tta's own known_hosts (hashed, accept-new), not to ~/.ssh.
    const known = readFileSync(join(xdg, 'tta', 'ssh', 'known_hosts'), 'utf8').trim().split('\n')
    expect(known).toHaveLength(1)
    expect(known[0]).toMatch(/^\|1\|[^|]+\|[^ ]+ ssh-ed25519 AAAA/)
    expect(existsSync(userKnownHosts) ? readFileSync(userKnownHosts, 'utf8') : undefined).toBe(userKnownHostsBefore)
    // Accepted by sshd with the client key: the engine calls really went over SSH.
    expect(readFileSync(join(dir, 'sshd.log'), 'utf8')).toMatch(/Accepted publickey for root from 127\.0\.0\.1/)
    const history = JSON.parse((await tta(['deploy', 'staging', '--history', '--json'])).stdout) as {deployments: Array<{version: string; result: string; host: string}>}
    expect(history.deployments.map((d) => `${d.version} ${d.result} ${d.host}`)).toEqual([`v1 succeeded ${host()}`])
  })

  it('builds through the docker CLI over SSH (DOCKER_HOST=ssh://...): tta’s ssh wrapper, non-interactive, same known_hosts', async () => {
    writeFileSync(join(workspace, 'api/public/version'), 'v2\n')
    await git(['commit', '-q', '-am', 'v2'])
    const before = (readFileSync(join(dir, 'sshd.log'), 'utf8').match(/Accepted publickey/g) ?? []).length
    const result = await tta(['deploy', 'staging', '-y', '--version', 'v2', '--verbose'], {DOCKER_HOST: host(), TTA_SSH_IDENTITY: join(dir, 'client_key')})
    expect(result.stdout).toContain('deployed v2 on staging')
    expect(result.code).toBe(0)
    expect((await httpGet(`http://127.0.0.1:${apiPort}/version`)).body.trim()).toBe('v2')
    // The build ran on the ssh:// engine: the docker CLI used tta's wrapper, with accept-new into tta's file.
    const bins = readdirSync(join(xdg, 'tta', 'ssh', 'bin'))
    expect(bins.length).toBeGreaterThan(0)
    const wrapper = readFileSync(join(xdg, 'tta', 'ssh', 'bin', bins[0] as string, 'ssh'), 'utf8')
    expect(wrapper).toContain("'StrictHostKeyChecking=accept-new'")
    expect(wrapper).toContain("'BatchMode=yes'")
    expect(wrapper).not.toMatch(/StrictHostKeyChecking=no/)
    expect(statSync(join(xdg, 'tta', 'ssh', 'bin', bins[0] as string, 'ssh')).mode & 0o777).toBe(0o700)
    const after = (readFileSync(join(dir, 'sshd.log'), 'utf8').match(/Accepted publickey/g) ?? []).length
    // tta's own client (one connection) plus the docker CLI's ssh for the build.
    expect(after - before).toBeGreaterThanOrEqual(2)
    expect(readFileSync(join(xdg, 'tta', 'ssh', 'known_hosts'), 'utf8').trim().split('\n')).toHaveLength(1)
  })

  it('tta status and tta logs reach the ssh:// engine through the same transport as deploy', async () => {
    const env = {DOCKER_HOST: host(), TTA_SSH_IDENTITY: join(dir, 'client_key')}
    const before = (readFileSync(join(dir, 'sshd.log'), 'utf8').match(/Accepted publickey/g) ?? []).length
    const status = await tta(['status', '--json', '--no-stats', '--project-name', project], env)
    expect(status.code, status.stderr).toBe(0)
    const report = JSON.parse(status.stdout) as {services: Array<{service: string; state: string | null; health: string | null}>}
    expect(report.services.map((s) => [s.service, s.state, s.health])).toEqual(expect.arrayContaining([['api', 'running', 'healthy'], ['cache', 'running', 'healthy']]))
    const logs = await tta(['logs', 'cache', '--tail', '20', '--project-name', project], env)
    expect(logs.code, logs.stderr).toBe(0)
    expect(logs.stdout).toMatch(/cache.*Ready to accept connections/)
    // Over SSH, not a local socket: sshd accepted tta's key again.
    expect((readFileSync(join(dir, 'sshd.log'), 'utf8').match(/Accepted publickey/g) ?? []).length).toBeGreaterThan(before)
  })

  it('exit 3 with the reason when the ssh host does not answer, refuses the key, or shows a changed host key', async () => {
    const t0 = Date.now()
    const down = await tta(['deploy', 'down', '-y', '--version', 'v1'])
    expect(down.code).toBe(3)
    expect(down.stderr).toContain('connection refused')
    expect(Date.now() - t0).toBeLessThan(20_000)

    const refused = await tta(['deploy', 'stranger', '-y', '--version', 'v1'])
    expect(refused.code).toBe(3)
    expect(refused.stderr).toContain(`refused the keys offered (${join(dir, 'stranger_key')})`)
    expect(refused.stderr).toContain('identityFile')
    expect(refused.stderr).not.toMatch(/^\s+at /m)

    // Another host key recorded for this host: a changed key is refused, never accepted.
    const otherXdg = join(dir, 'xdg-changed')
    mkdirSync(join(otherXdg, 'tta', 'ssh'), {recursive: true})
    await keygen(join(dir, 'impostor_key'))
    const impostor = readFileSync(join(dir, 'impostor_key.pub'), 'utf8').split(' ').slice(0, 2).join(' ')
    writeFileSync(join(otherXdg, 'tta', 'ssh', 'known_hosts'), `[127.0.0.1]:${sshPort} ${impostor}\n`)
    const changed = await tta(['deploy', 'staging', '-y', '--version', 'v1'], {XDG_CONFIG_HOME: otherXdg})
    expect(changed.code).toBe(3)
    expect(changed.stderr).toContain('does not match the one recorded in')
    expect(changed.stderr).toContain('ssh-keygen -R')
    expect((await httpGet(`http://127.0.0.1:${apiPort}/version`)).body.trim()).toBe('v2')
  })

  it('honours the user\'s StrictHostKeyChecking yes: an unknown host is refused, no key recorded', async () => {
    // A user whose ~/.ssh/config says yes for this host, and who has no known_hosts entry for it.
    const home = join(dir, 'home-strict')
    mkdirSync(join(home, '.ssh'), {recursive: true})
    writeFileSync(join(home, '.ssh', 'config'), 'Host 127.0.0.1\n  StrictHostKeyChecking yes\n')
    const strictXdg = join(dir, 'xdg-strict')
    const result = await tta(['deploy', 'staging', '-y', '--version', 'v1'], {HOME: home, XDG_CONFIG_HOME: strictXdg})
    expect(result.code, result.stderr).toBe(3)
    expect(result.stderr).toContain(`is not known, and StrictHostKeyChecking yes (${join(home, '.ssh', 'config')}) refuses unknown hosts`)
    expect(result.stderr).toContain(`ssh-keyscan -p ${sshPort} 127.0.0.1`)
    expect(result.stderr).not.toMatch(/^\s+at /m)
    expect(existsSync(join(strictXdg, 'tta', 'ssh', 'known_hosts'))).toBe(false)
  })
})
