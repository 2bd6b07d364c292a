// `tta dev --watch` against an engine reached only over TCP, in its own network namespace: no
// filesystem is shared with it, so the edit can only arrive through the engine API (archive upload).
// Off a terminal: the session prints plain lines and ends on SIGTERM. Every wait is bounded.
import {spawn} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {freePort, httpGet, removeWorkspace, run, standinImage, ttaBin, waitFor} from './helpers.js'
import {PrivateEngine} from './private-engine.js'

const ns = `tta-wremote-${process.pid}`
const subnet = `10.216.${process.pid % 250}`
const hostSide = `tw${process.pid % 100000}h`
const nsSide = `tw${process.pid % 100000}n`
const remoteIp = `${subnet}.2`
const engine26 = '/opt/tta-engine26/usr/sbin/dockerd'

let engine: PrivateEngine | undefined
let workspace = ''

async function ip(args: string[]): Promise<void> {
  const result = await run('ip', args, {timeoutMs: 15_000})
  if (result.code !== 0) throw new Error(`ip ${args.join(' ')}: ${result.stderr.trim()}`)
}

describe('tta dev --watch with the engine only over DOCKER_HOST=tcp:// (own network namespace)', () => {
  let port = 0

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
    port = await freePort()
    workspace = mkdtempSync(join(tmpdir(), 'tta-wremote-'))
    mkdirSync(join(workspace, 'public'))
    writeFileSync(join(workspace, 'public/index.html'), 'version one\n')
    writeFileSync(
      join(workspace, 'docker-compose.yml'),
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
    if (engine) await engine.destroy()
    await run('ip', ['link', 'del', hostSide], {timeoutMs: 15_000})
    await run('ip', ['netns', 'del', ns], {timeoutMs: 15_000})
    if (workspace) removeWorkspace(workspace)
  })

  it('an edit gives the new response, a deletion reaches the container, SIGTERM ends it with exit 0', async () => {
    const env = {...process.env, DOCKER_HOST: `tcp://${remoteIp}:2375`, DOCKER_CONTEXT: '', NO_COLOR: '1'}
    const child = spawn(process.execPath, [ttaBin, 'dev', '--watch', '--workspace', workspace, '--project-name', 'wremote', '-f', join(workspace, 'docker-compose.yml')], {env, stdio: ['ignore', 'pipe', 'pipe']})
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')))
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')))
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
    try {
      await waitFor(() => output.includes('watching web'), {timeoutMs: 120_000, description: `the session to start; output:\n${output}`})
      // initial_sync copied the page in; the image's own /app/public had another one.
      await waitFor(async () => (await httpGet(`http://${remoteIp}:${port}/index.html`, 2_000)).body.includes('version one'), {timeoutMs: 20_000, description: 'the initial sync'})
      writeFileSync(join(workspace, 'public/index.html'), 'version two\n')
      const body = await waitFor(
        async () => {
          const response = await httpGet(`http://${remoteIp}:${port}/index.html`, 2_000)
          return response.body.includes('version two') && response.body
        },
        {timeoutMs: 20_000, intervalMs: 100, description: 'the edited page from the remote engine'},
      )
      expect(body).toBe('version two\n')
      writeFileSync(join(workspace, 'public/extra.html'), 'extra\n')
      await waitFor(async () => (await httpGet(`http://${remoteIp}:${port}/extra.html`, 2_000)).status === 200, {timeoutMs: 20_000, description: 'the added page'})
      rmSync(join(workspace, 'public/extra.html'))
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
