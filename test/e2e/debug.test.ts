// Issue 10: `--debug` (or DEBUG=tta:*) shows the engine calls for bug reports (one HTTP client
// serves status/logs and the engine port alike); errors point at the flag.
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'

import {runTta, uniqueProject} from './helpers.js'

const project = uniqueProject('debug')
const workspace = mkdtempSync(join(tmpdir(), 'tta-debug-'))
afterAll(() => rmSync(workspace, {recursive: true, force: true}))

const tta = (args: string[], env: Record<string, string> = {}) => runTta([...args, '--workspace', workspace, '--project-name', project], {env, timeoutMs: 30_000})

describe('--debug', () => {
  it('traces the engine calls of `tta status` (light client) on stderr, stdout untouched', async () => {
    const plain = await tta(['status', '--json'])
    const traced = await tta(['status', '--json', '--debug'])
    expect(traced.code).toBe(0)
    expect(traced.stderr).toMatch(/tta:engine GET \/containers\/json\?all=1&filters=\S+ -> 200 \(\d+\.\d ms\)/)
    expect(JSON.parse(traced.stdout)).toMatchObject({project, counts: {total: 0}})
    expect(plain.stderr).toBe('')
  })

  it('traces the engine port\'s calls (`tta stop`) and takes DEBUG=tta:* as well', async () => {
    const result = await tta(['stop'], {DEBUG: 'tta:*'})
    expect(result.code).toBe(0)
    expect(result.stderr).toMatch(/tta:engine GET \/version -> 200/)
    expect(result.stderr).toMatch(/tta:engine GET \/containers\/json\?all=1&filters=\S+ -> 200 \(\d+\.\d ms\)/)
  })

  it('shows the commands tta runs (tta:exec), e.g. `tta doctor` asking the Compose version', async () => {
    const result = await tta(['doctor', '--debug'])
    expect(result.stderr).toMatch(/\$ docker compose version --short/)
  })

  it('is shown in --help as a global flag', async () => {
    const result = await tta(['status', '--help'])
    expect(result.stdout).toMatch(/--debug\s+show the engine calls/)
  })

  it('is what an engine failure points at, and then shows the failing call', async () => {
    const env = {DOCKER_HOST: `unix://${join(workspace, 'no-engine.sock')}`}
    const started = Date.now()
    const result = await tta(['status'], env)
    expect(result.code).toBe(3)
    expect(Date.now() - started).toBeLessThan(5_000)
    expect(result.stderr).toContain('--debug')
    expect(result.stderr).not.toMatch(/^\s+at /m)
    const traced = await tta(['status', '--debug'], env)
    expect(traced.code).toBe(3)
    expect(traced.stderr).toMatch(/tta:engine GET \/containers\/json\S* -> error: .*ENOENT/)
    expect(traced.stderr).not.toContain('run it again with --debug')
  })
})

describe('NODE_ENV=development or test (a devcontainer\'s, vitest\'s)', () => {
  it('does not make oclif look for TypeScript sources to transpile (tsx/ts-node registration cost ~0.6 s CPU a command)', async () => {
    for (const nodeEnv of ['development', 'test']) {
      const result = await runTta(['config', '--mode', 'nope'], {env: {NODE_ENV: nodeEnv, DEBUG: 'oclif:config:ts-path'}, timeoutMs: 30_000})
      expect(result.code, result.stderr).toBe(2)
      expect(result.stderr).toContain('enableAutoTranspile is explicitly set to false')
      expect(result.stderr).not.toMatch(/registering (tsx|ts-node)/)
    }
  })
})
