// Security defaults on a real engine (the engine-free ones are in test/unit/security/): after a
// first `tta dev` the stack's passwords are in a 0600 .env and nowhere in tta's own output (even
// with --debug), every published port is bound to 127.0.0.1 by the engine, a second run keeps the
// secrets, and only `tta status --secrets` (and `tta config`, which prints the resolved model as
// `docker compose config` does) shows them. `tta clean` leaves look-alikes of other projects alone.
import {readFileSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {GENERATED_SECRETS} from '../../src/workspace/secrets.js'
import {cleanupProject, copyWorkspace, CORE_PORT_VARS, docker, freePortEnv, PROJECT_LABEL, redisCommands, removeWorkspace, RespError, runTta, uniqueProject} from './helpers.js'

const project = uniqueProject('security')
const env: Record<string, string | undefined> = {DEBUG: undefined, TTA_BIND_IP: undefined}
let workspace = ''

function tta(args: string[], timeoutMs = 240_000) {
  return runTta([...args, '--workspace', workspace, '--project-name', project], {env, timeoutMs})
}

function secrets(): Record<string, string> {
  const out: Record<string, string> = {}
  for (const line of readFileSync(join(workspace, '.env'), 'utf8').split('\n')) {
    const m = /^(TTA_[A-Z0-9_]+_PASSWORD)=(.+)$/.exec(line)
    if (m) out[m[1] as string] = m[2] as string
  }
  return out
}

/** The generated values that appear in `text`, by name. */
function leaked(text: string): string[] {
  return Object.entries(secrets())
    .filter(([, value]) => text.includes(value))
    .map(([name]) => name)
}

beforeAll(async () => {
  workspace = copyWorkspace()
  // Every core port moved to a free one: other stacks run on this engine at the same time.
  Object.assign(env, await freePortEnv(CORE_PORT_VARS))
})

afterAll(async () => {
  await cleanupProject(project)
  removeWorkspace(workspace)
})

describe('security defaults on a real stack', () => {
  it('first tta dev: CSPRNG secrets into a 0600 .env, named but never shown, even with --debug', async () => {
    const result = await tta(['dev', 'redis', 'postgres', '--debug'])
    expect(result.code, result.stderr).toBe(0)
    expect(statSync(join(workspace, '.env')).mode & 0o777).toBe(0o600)
    const values = secrets()
    expect(Object.keys(values).sort()).toEqual([...GENERATED_SECRETS].sort())
    for (const value of Object.values(values)) expect(value).toMatch(/^[A-Za-z0-9_-]{24}$/)
    // The first run says what it generated, by name, and where.
    expect(result.stderr).toMatch(/generated TTA_REDIS_PASSWORD, .* into .*\.env \(mode 0600\)/)
    // --debug traced the engine calls (so the check below covers them)...
    expect(result.stderr).toMatch(/tta:engine/)
    // ...and neither they nor anything else tta printed holds a password.
    expect(leaked(result.stdout + result.stderr)).toEqual([])
  })

  it('the engine publishes every port of the stack on 127.0.0.1 only', async () => {
    const ids = (await docker(['ps', '-q', '--filter', `label=${PROJECT_LABEL}=${project}`])).stdout.trim().split('\n').filter(Boolean)
    expect(ids.length).toBe(2)
    const inspected = JSON.parse((await docker(['inspect', ...ids])).stdout) as Array<{
      Name: string
      HostConfig: {PortBindings: Record<string, Array<{HostIp: string; HostPort: string}> | null>}
      NetworkSettings: {Ports: Record<string, Array<{HostIp: string; HostPort: string}> | null>}
    }>
    const bindings = inspected.flatMap((c) => [
      ...Object.entries(c.HostConfig.PortBindings ?? {}).flatMap(([port, list]) => (list ?? []).map((b) => ({what: `${c.Name} ${port} asked`, ...b}))),
      ...Object.entries(c.NetworkSettings.Ports ?? {}).flatMap(([port, list]) => (list ?? []).map((b) => ({what: `${c.Name} ${port} bound`, ...b}))),
    ])
    // redis and postgres: one port each, as asked and as bound.
    expect(bindings.length).toBe(4)
    expect(bindings.filter((b) => b.HostIp !== '127.0.0.1').map((b) => `${b.what} ${b.HostIp}:${b.HostPort}`)).toEqual([])
    expect(bindings.map((b) => b.HostPort).sort()).toEqual([env.TTA_POSTGRES_PORT, env.TTA_POSTGRES_PORT, env.TTA_REDIS_PORT, env.TTA_REDIS_PORT].sort())
  })

  it('the redis password is on no command line (inspect, the host\'s ps), and redis still demands it', async () => {
    const password = secrets().TTA_REDIS_PASSWORD as string
    const id = (await docker(['ps', '-q', '--filter', `label=${PROJECT_LABEL}=${project}`, '--filter', 'label=com.docker.compose.service=redis'])).stdout.trim()
    expect(id).not.toBe('')
    const [inspected] = JSON.parse((await docker(['inspect', id])).stdout) as Array<{Path: string; Args: string[]; Config: {Cmd: string[] | null; Entrypoint: string[] | null}}>
    const commandLine = JSON.stringify({path: inspected?.Path, args: inspected?.Args, cmd: inspected?.Config.Cmd, entrypoint: inspected?.Config.Entrypoint})
    expect(commandLine).toContain('redis-server')
    expect(commandLine).not.toContain(password)
    // What any local user's `ps` shows of the container's processes.
    const top = (await docker(['top', id, '-eo', 'pid,args'])).stdout
    expect(top).toContain('redis-server')
    expect(top).not.toContain(password)
    const port = Number(env.TTA_REDIS_PORT)
    const [anonymous] = await redisCommands(port, [['PING']])
    expect(anonymous).toBeInstanceOf(RespError)
    expect((anonymous as RespError).message).toMatch(/^NOAUTH/)
    expect(await redisCommands(port, [['AUTH', password], ['PING'], ['CONFIG', 'GET', 'appendonly']])).toEqual(['OK', 'PONG', ['appendonly', 'yes']])
  })

  it('a second tta dev keeps the secrets (the .env is byte for byte the same) and prints none', async () => {
    const before = readFileSync(join(workspace, '.env'), 'utf8')
    const result = await tta(['dev', 'redis', 'postgres'])
    expect(result.code, result.stderr).toBe(0)
    expect(readFileSync(join(workspace, '.env'), 'utf8')).toBe(before)
    expect(result.stderr).not.toContain('generated')
    expect(leaked(result.stdout + result.stderr)).toEqual([])
  })

  it('tta status and tta status --json show no secret; tta status --secrets shows all four', async () => {
    for (const args of [['status'], ['status', '--json'], ['status', 'redis', '--check']]) {
      const result = await tta(args, 60_000)
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(0)
      expect(leaked(result.stdout + result.stderr), args.join(' ')).toEqual([])
    }
    const shown = await tta(['status', '--secrets'], 60_000)
    expect(shown.code, shown.stderr).toBe(0)
    expect(leaked(shown.stdout).sort()).toEqual([...GENERATED_SECRETS].sort())
  })

  it('tta clean removes what carries the project label, never a look-alike (another project, no label)', async () => {
    // Complements engine.test.ts (unlabelled decoys named like the project): here the decoys also
    // carry the labels of projects whose names start with this one. Nothing is started.
    const p = uniqueProject('sec-clean')
    const label = (name: string): string[] => ['--label', `${PROJECT_LABEL}=${name}`]
    const mine = {network: `${p}_default`, volume: `${p}_data`, container: `${p}-redis-1`}
    const decoys = {
      networks: [`${p}x_default`, `${p}_tta`],
      volumes: [`${p}-2_data`, `${p}_decoy-data`],
      containers: [`${p}-redis-decoy`, `${p}x-redis-1`],
    }
    try {
      await docker(['network', 'create', ...label(p), mine.network])
      await docker(['volume', 'create', ...label(p), mine.volume])
      await docker(['create', '--name', mine.container, ...label(p), '--network', mine.network, 'tta-standin/frontend:local'])
      await docker(['network', 'create', ...label(`${p}x`), decoys.networks[0] as string])
      await docker(['network', 'create', decoys.networks[1] as string])
      await docker(['volume', 'create', ...label(`${p}-2`), decoys.volumes[0] as string])
      await docker(['volume', 'create', decoys.volumes[1] as string])
      await docker(['create', '--name', decoys.containers[0] as string, 'tta-standin/frontend:local'])
      await docker(['create', '--name', decoys.containers[1] as string, ...label(`${p}x`), 'tta-standin/frontend:local'])

      const dry = await runTta(['clean', '--volumes', '--dry-run', '--workspace', workspace, '--project-name', p], {env})
      expect(dry.code, dry.stderr).toBe(0)
      for (const name of Object.values(mine)) expect(dry.stdout).toContain(name)
      for (const name of Object.values(decoys).flat()) expect(dry.stdout).not.toContain(name)

      const result = await runTta(['clean', '--volumes', '-y', '--workspace', workspace, '--project-name', p], {env})
      expect(result.code, result.stderr).toBe(0)
      const exists = async (kind: string[], name: string): Promise<boolean> => (await docker([...kind, 'inspect', name], {allowFailure: true})).code === 0
      expect(await exists(['network'], mine.network)).toBe(false)
      expect(await exists(['volume'], mine.volume)).toBe(false)
      expect(await exists(['container'], mine.container)).toBe(false)
      for (const name of decoys.networks) expect(await exists(['network'], name), name).toBe(true)
      for (const name of decoys.volumes) expect(await exists(['volume'], name), name).toBe(true)
      for (const name of decoys.containers) expect(await exists(['container'], name), name).toBe(true)
    } finally {
      await docker(['rm', '-f', mine.container, ...decoys.containers], {allowFailure: true})
      await docker(['network', 'rm', mine.network, ...decoys.networks], {allowFailure: true})
      await docker(['volume', 'rm', mine.volume, ...decoys.volumes], {allowFailure: true})
    }
  })

  it('tta config prints the resolved model with the values, as docker compose config does; --services does not', async () => {
    const model = await tta(['config'], 60_000)
    expect(model.code, model.stderr).toBe(0)
    // Asked for the resolved model: redis's REDISCLI_AUTH and the APIs' URLs carry the values.
    expect(leaked(model.stdout)).toContain('TTA_REDIS_PASSWORD')
    expect(leaked(model.stderr)).toEqual([])
    const names = await tta(['config', '--services'], 60_000)
    expect(names.code, names.stderr).toBe(0)
    expect(leaked(names.stdout + names.stderr)).toEqual([])
  })
})
