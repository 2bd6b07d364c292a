// An engine reached only over TCP, in its own network namespace (a veth pair is the only way in),
// while this test holds the same host ports on 127.0.0.1 here. tta must probe the remote engine's
// address for a port-only service and never the local one: before probes/reach.ts, readiness by
// port tried 127.0.0.1 and called the service ready as soon as the local holder answered.
// Then `tta dev --watch` against the same engine: no filesystem is shared with it, so an edit can
// only arrive through the engine API (archive upload). Off a terminal: the session prints plain
// lines and ends on SIGTERM. One engine for both: starting and removing one costs ~20 s.
import {spawn} from 'node:child_process'
import {createServer, type Server} from 'node:net'
import {existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {freePort, httpGet, removeWorkspace, run, runTta, standinImage, ttaBin, waitFor} from './helpers.js'
import {PrivateEngine} from './private-engine.js'

const ns = `tta-remote-${process.pid}`
// A /30 of its own: 10.215.x.1 here, 10.215.x.2 in the namespace.
const subnet = `10.215.${process.pid % 250}`
const hostSide = `tr${process.pid % 100000}h`
const nsSide = `tr${process.pid % 100000}n`
const remoteIp = `${subnet}.2`
const engine26 = '/opt/tta-engine26/usr/sbin/dockerd'

let engine: PrivateEngine | undefined
let workspace = ''
const holders: Server[] = []
/** Connections the local holders accepted: tta must make none. */
let localConnections = 0

async function ip(args: string[]): Promise<void> {
  const result = await run('ip', args, {timeoutMs: 15_000})
  if (result.code !== 0) throw new Error(`ip ${args.join(' ')}: ${result.stderr.trim()}`)
}

/** A local TCP server on 127.0.0.1:port that answers HTTP 200 and counts who connected. */
async function holdLocally(port: number): Promise<void> {
  const server = createServer((socket) => {
    localConnections++
    socket.end('HTTP/1.0 200 OK\r\ncontent-length: 2\r\n\r\nok')
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', resolve)
  })
  holders.push(server)
}

beforeAll(async () => {
  await ip(['netns', 'add', ns])
  await ip(['link', 'add', hostSide, 'type', 'veth', 'peer', 'name', nsSide])
  await ip(['link', 'set', nsSide, 'netns', ns])
  await ip(['addr', 'add', `${subnet}.1/30`, 'dev', hostSide])
  await ip(['link', 'set', hostSide, 'up'])
  await ip(['netns', 'exec', ns, 'ip', 'addr', 'add', `${remoteIp}/30`, 'dev', nsSide])
  await ip(['netns', 'exec', ns, 'ip', 'link', 'set', nsSide, 'up'])
  await ip(['netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up'])
  engine = await PrivateEngine.create({netns: ns, tcp: 'tcp://0.0.0.0:2375', dockerd: existsSync(engine26) ? engine26 : undefined})
  await engine.loadImages([standinImage('frontend')])
}, 180_000)

afterAll(async () => {
  if (engine) await engine.destroy()
  await run('ip', ['link', 'del', hostSide], {timeoutMs: 15_000})
  await run('ip', ['netns', 'del', ns], {timeoutMs: 15_000})
})

describe('a remote engine over TCP (own network namespace), local ports held by someone else', () => {
  let webPort = 0
  let loopPort = 0

  beforeAll(async () => {
    webPort = await freePort()
    loopPort = await freePort()
    await holdLocally(webPort)
    await holdLocally(loopPort)
    workspace = mkdtempSync(join(tmpdir(), 'tta-remote-'))
    // web answers only after 2 s: a probe of the local holder would call it ready at once.
    writeFileSync(
      join(workspace, 'docker-compose.yml'),
      [
        'services:',
        '  web:',
        `    image: ${standinImage('frontend')}`,
        '    command: ["sh", "-c", "sleep 2; echo listening; exec httpd -f -p 80 -h /app/public"]',
        '    ports:',
        `      - "${webPort}:80"`,
        '  loopweb:',
        `    image: ${standinImage('frontend')}`,
        '    command: ["httpd", "-f", "-p", "80", "-h", "/app/public"]',
        '    ports:',
        `      - "127.0.0.1:${loopPort}:80"`,
        '',
      ].join('\n'),
    )
  }, 180_000)

  afterAll(async () => {
    for (const server of holders) server.close()
    if (workspace) removeWorkspace(workspace)
  })

  it('probes the remote address for a port-only service, ready only once the remote one answers; never touches 127.0.0.1', async () => {
    const env = {DOCKER_HOST: `tcp://${remoteIp}:2375`, DOCKER_CONTEXT: ''}
    const result = await runTta(['dev', '--workspace', workspace, '--project-name', 'remote', '-f', join(workspace, 'docker-compose.yml'), '--verbose'], {env, timeoutMs: 120_000})
    expect(result.code, result.stderr + result.stdout).toBe(0)
    const output = result.stdout + result.stderr
    expect(output).toMatch(/web\s+ready in [\d.]+s \(port\)/)
    // Its log says it listened before tta said ready: the probe waited for the remote server.
    const logs = await engine?.docker(['logs', 'remote-web-1'])
    expect(logs?.stdout).toContain('listening')
    // At the moment tta returned, the remote one answers at once.
    expect((await httpGet(`http://${remoteIp}:${webPort}/`)).status).toBe(200)
    // The loopback-bound port has no route from here: readiness is the container running, said so.
    expect(output).toMatch(/loopweb: port \d+ is bound to 127\.0\.0\.1 on a remote engine: no route from here/)
    expect(localConnections).toBe(0)
  })
})

describe('tta dev --watch with the engine only over DOCKER_HOST=tcp:// (own network namespace)', () => {
  let port = 0
  let watchWorkspace = ''

  beforeAll(async () => {
    port = await freePort()
    watchWorkspace = mkdtempSync(join(tmpdir(), 'tta-wremote-'))
    mkdirSync(join(watchWorkspace, 'public'))
    writeFileSync(join(watchWorkspace, 'public/index.html'), 'version one\n')
    writeFileSync(
      join(watchWorkspace, 'docker-compose.yml'),
      [
        'services:',
        '  web:',
        `    image: ${standinImage('frontend')}`,
        '    command: ["httpd", "-f", "-p", "80", "-h", "/app/public"]',
        '    ports:',
        `      - "${port}:80"`,
        '    develop:',
        '      watch:',
        '        - path: ./public',
        '          action: sync',
        '          target: /app/public',
        '          initial_sync: true',
        '',
      ].join('\n'),
    )
  }, 180_000)

  afterAll(async () => {
    if (watchWorkspace) removeWorkspace(watchWorkspace)
  })

  it('an edit gives the new response, a deletion reaches the container, SIGTERM ends it with exit 0', async () => {
    const env = {...process.env, DOCKER_HOST: `tcp://${remoteIp}:2375`, DOCKER_CONTEXT: '', NO_COLOR: '1'}
    const child = spawn(process.execPath, [ttaBin, 'dev', '--watch', '--workspace', watchWorkspace, '--project-name', 'wremote', '-f', join(watchWorkspace, 'docker-compose.yml')], {env, stdio: ['ignore', 'pipe', 'pipe']})
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')))
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')))
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
    try {
      await waitFor(() => output.includes('watching web'), {timeoutMs: 120_000, description: `the session to start; output:\n${output}`})
      // initial_sync copied the page in; the image's own /app/public had another one.
      await waitFor(async () => (await httpGet(`http://${remoteIp}:${port}/index.html`, 2_000)).body.includes('version one'), {timeoutMs: 20_000, description: 'the initial sync'})
      writeFileSync(join(watchWorkspace, 'public/index.html'), 'version two\n')
      const body = await waitFor(
        async () => {
          const response = await httpGet(`http://${remoteIp}:${port}/index.html`, 2_000)
          return response.body.includes('version two') && response.body
        },
        {timeoutMs: 20_000, intervalMs: 100, description: 'the edited page from the remote engine'},
      )
      expect(body).toBe('version two\n')
      writeFileSync(join(watchWorkspace, 'public/extra.html'), 'extra\n')
      await waitFor(async () => (await httpGet(`http://${remoteIp}:${port}/extra.html`, 2_000)).status === 200, {timeoutMs: 20_000, description: 'the added page'})
      rmSync(join(watchWorkspace, 'public/extra.html'))
      await waitFor(async () => (await httpGet(`http://${remoteIp}:${port}/extra.html`, 2_000)).status === 404, {timeoutMs: 20_000, description: 'the deleted page gone'})
      // Plain lines off a terminal: each sync said what it did.
      expect(output).toMatch(/web: sync done in \d+ ms \(1 file\)/)
      expect(output).toMatch(/web: sync done in \d+ ms \(1 deleted\)/)
    } finally {
      child.kill('SIGTERM')
    }
    const code = await Promise.race([exited, new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 30_000))])
    expect(code, output).toBe(0)
    expect(output).toMatch(/the stack keeps running \(project wremote\)/)
  }, 240_000)
})
