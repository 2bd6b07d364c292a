// An engine reached only over TCP, in its own network namespace (a veth pair is the only way in),
// while this test holds the same host ports on 127.0.0.1 here. tta must probe the remote engine's
// address for a port-only service and never the local one: before probes/reach.ts, readiness by
// port tried 127.0.0.1 and called the service ready as soon as the local holder answered.
import {createServer, type Server} from 'node:net'
import {existsSync, mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {freePort, httpGet, removeWorkspace, run, runTta, standinImage} from './helpers.js'
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

describe('a remote engine over TCP (own network namespace), local ports held by someone else', () => {
  let webPort = 0
  let loopPort = 0

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
    if (engine) await engine.destroy()
    await run('ip', ['link', 'del', hostSide], {timeoutMs: 15_000})
    await run('ip', ['netns', 'del', ns], {timeoutMs: 15_000})
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
