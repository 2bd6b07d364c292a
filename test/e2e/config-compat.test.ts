/**
 * `tta config` must print exactly what `docker compose config` prints for the same files and
 * variables: the bundled compose files in every mode, and every case of the Compose-equivalence
 * corpus in test/fixtures/compose-valid/.
 *
 * Both sides run as child processes with the same minimal environment (no TTA_* or COMPOSE_*
 * leaking in from the shell that runs the tests) and are compared as parsed JSON.
 *
 * A corpus case is a directory holding its compose files, optionally a `.env` (the workspace
 * `.env`, read by both tools) and a `case.json`:
 *   {"files": ["docker-compose.yml", "override.yml"], "env": {"VAR": "x"}, "profiles": ["p"]}
 * with defaults files ["docker-compose.yml"], env {}, profiles [].
 *
 * Needs the built CLI (`npm run build`) and Compose v2 (`scripts/get-compose-v2.sh`); either
 * missing is a failure, never a skip. No Docker engine is needed: `config` never contacts one.
 */
import {spawnSync} from 'node:child_process'
import {existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
const composeDir = path.join(repo, 'compose')
const fixturesDir = path.join(repo, 'test', 'fixtures', 'compose-valid')
const cliEntry = path.join(repo, 'bin', 'run.js')
const builtConfigCommand = path.join(repo, 'dist', 'commands', 'config.js')

type Json = null | boolean | number | string | Json[] | {[key: string]: Json}
type Env = Record<string, string>

interface CaseSpec {
  files: string[]
  env: Env
  profiles: string[]
}

/**
 * Keys removed from both outputs before comparing. Keep this tiny; every entry says why.
 * - top-level `x-*`: Compose echoes extension fields back verbatim, unresolved. They are YAML
 *   scaffolding (where anchors live), not part of the project; tta's Project model has no place
 *   for them and the engine never reads them.
 */
function withoutIgnoredKeys(model: Json): Json {
  if (model === null || typeof model !== 'object' || Array.isArray(model)) return model
  return Object.fromEntries(Object.entries(model).filter(([key]) => !key.startsWith('x-')))
}

/** PATH and HOME only (docker and node need them); everything else comes from the case. */
function baseEnv(): Env {
  const env: Env = {NO_COLOR: '1'}
  for (const key of ['PATH', 'HOME']) {
    const value = process.env[key]
    if (value !== undefined) env[key] = value
  }
  return env
}

function run(command: string, args: string[], env: Env, cwd: string): string {
  const result = spawnSync(command, args, {cwd, env, encoding: 'utf8', timeout: 60_000, maxBuffer: 64 * 1024 * 1024})
  if (result.error) throw new Error(`${command} ${args.join(' ')}: ${result.error.message}`)
  if (result.status !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} (cwd ${cwd}) exited with ${result.status ?? result.signal}\n` +
        `stderr:\n${result.stderr}\nstdout:\n${result.stdout.slice(0, 2000)}`,
    )
  }
  return result.stdout
}

function parseJson(text: string, what: string): Json {
  try {
    return JSON.parse(text) as Json
  } catch (error) {
    throw new Error(`${what} did not print JSON (${(error as Error).message}):\n${text.slice(0, 2000)}`)
  }
}

interface Invocation {
  projectName: string
  /** Compose files as given to both tools, relative to cwd or absolute. */
  files: string[]
  cwd: string
  workspace: string
  env: Env
  profiles: string[]
  /** `tta config --mode` instead of -f (the bundled files)... */
  mode?: 'dev' | 'monitoring' | 'full'
  /** ...and the bundled files Compose is given in its place. */
  composeFilesForMode?: string[]
}

function composeConfig(inv: Invocation): Json {
  const envFile = path.join(inv.workspace, '.env')
  const args = ['compose', '-p', inv.projectName]
  if (existsSync(envFile)) args.push('--env-file', envFile)
  for (const profile of inv.profiles) args.push('--profile', profile)
  for (const file of inv.composeFilesForMode ?? inv.files) args.push('-f', file)
  args.push('config', '--format', 'json')
  // tta exports TTA_WORKSPACE=<workspace> unless the user set it; Compose needs it spelled out.
  const env = {TTA_WORKSPACE: inv.workspace, ...inv.env}
  return parseJson(run('docker', args, env, inv.cwd), 'docker compose config')
}

function ttaConfig(inv: Invocation): Json {
  const args = [cliEntry, 'config', '--workspace', inv.workspace, '--project-name', inv.projectName]
  if (inv.mode) args.push('--mode', inv.mode)
  else for (const file of inv.files) args.push('-f', file)
  for (const profile of inv.profiles) args.push('--profile', profile)
  args.push('--format', 'json')
  return parseJson(run(process.execPath, args, inv.env, inv.cwd), 'tta config')
}

function expectSameModel(inv: Invocation): void {
  const expected = withoutIgnoredKeys(composeConfig(inv))
  const actual = withoutIgnoredKeys(ttaConfig(inv))
  expect(actual).toStrictEqual(expected)
}

function readCase(dir: string): CaseSpec {
  const spec: CaseSpec = {files: ['docker-compose.yml'], env: {}, profiles: []}
  const file = path.join(dir, 'case.json')
  if (!existsSync(file)) return spec
  const raw = JSON.parse(readFileSync(file, 'utf8')) as Partial<CaseSpec>
  return {files: raw.files ?? spec.files, env: raw.env ?? spec.env, profiles: raw.profiles ?? spec.profiles}
}

const corpus = readdirSync(fixturesDir)
  .filter((name) => statSync(path.join(fixturesDir, name)).isDirectory())
  .sort()

function fixtureInvocation(name: string): Invocation {
  const dir = path.join(fixturesDir, name)
  const spec = readCase(dir)
  return {
    projectName: `compat-${name}`,
    files: spec.files,
    cwd: dir,
    workspace: dir,
    env: {...baseEnv(), ...spec.env},
    profiles: spec.profiles,
  }
}

describe('prerequisites', () => {
  it('Compose v2 is installed', () => {
    const version = run('docker', ['compose', 'version', '--short'], baseEnv(), repo)
    expect(version.trim()).toMatch(/^v?2\./)
  })

  it('the CLI is built', () => {
    expect(existsSync(builtConfigCommand), `${builtConfigCommand} missing: run \`npm run build\``).toBe(true)
  })

  it('the corpus exercises overlays, profiles and .env files, and every case names only files it has', () => {
    const specs = corpus.map((name) => ({name, dir: path.join(fixturesDir, name), spec: readCase(path.join(fixturesDir, name))}))
    expect(specs.filter(({dir, spec}) => spec.files.some((f) => !existsSync(path.join(dir, f)))).map(({name}) => name)).toEqual([])
    expect(specs.some(({spec}) => spec.files.length > 1)).toBe(true)
    expect(specs.some(({spec}) => spec.profiles.length > 0)).toBe(true)
    expect(specs.some(({dir}) => existsSync(path.join(dir, '.env')))).toBe(true)
  })
})

describe('corpus: every case is valid Compose', () => {
  it.each(corpus)('%s', (name) => {
    expect(composeConfig(fixtureInvocation(name))).toHaveProperty('services')
  })
})

describe('corpus: tta config equals docker compose config', () => {
  it.each(corpus)('%s', (name) => {
    expectSameModel(fixtureInvocation(name))
  })
})

describe('bundled compose files', () => {
  let workspace = ''
  const secrets: Env = {
    TTA_REDIS_PASSWORD: 'redis-secret-1',
    TTA_POSTGRES_PASSWORD: 'postgres-secret-2',
    TTA_NEO4J_PASSWORD: 'neo4j-secret-3',
    TTA_GRAFANA_ADMIN_PASSWORD: 'grafana-secret-4',
  }

  beforeAll(() => {
    workspace = mkdtempSync(path.join(tmpdir(), 'tta-config-compat-'))
    const dotenv = Object.entries(secrets).map(([key, value]) => `${key}=${value}\n`)
    writeFileSync(path.join(workspace, '.env'), dotenv.join(''))
  })

  afterAll(() => {
    if (workspace) rmSync(workspace, {recursive: true, force: true})
  })

  const bundled = (...names: string[]): string[] => names.map((name) => path.join(composeDir, name))
  const modes = {
    dev: bundled('docker-compose.yml', 'docker-compose.hotreload.yml'),
    monitoring: bundled('docker-compose.monitoring.yml'),
    full: bundled('docker-compose.yml', 'docker-compose.hotreload.yml', 'docker-compose.monitoring.yml'),
  } as const
  type Mode = keyof typeof modes
  const modeNames = Object.keys(modes) as Mode[]

  function modeInvocation(mode: Mode, env: Env = {}, dir = workspace): Invocation {
    return {
      projectName: `compat-${mode}`,
      files: [],
      cwd: dir,
      workspace: dir,
      env: {...baseEnv(), ...env},
      profiles: [],
      mode,
      composeFilesForMode: modes[mode],
    }
  }

  function deployInvocation(target: 'staging' | 'production'): Invocation {
    return {
      projectName: `compat-${target}`,
      files: bundled('docker-compose.yml', `docker-compose.${target}.yml`),
      cwd: workspace,
      workspace,
      env: baseEnv(),
      profiles: [],
    }
  }

  for (const mode of modeNames) {
    it(`--mode ${mode} equals docker compose config`, () => {
      expectSameModel(modeInvocation(mode))
    })
  }

  it('--mode full with ports, bind address and image names moved by the environment', () => {
    expectSameModel(
      modeInvocation('full', {
        TTA_BIND_IP: '0.0.0.0',
        TTA_REDIS_PORT: '16379',
        TTA_GRAFANA_PORT: '13001',
        TTA_VERSION: '1.2.3',
        TTA_IMAGE_PREFIX: 'registry.local:5000/tta',
        TTA_POSTGRES_USER: 'someone',
      }),
    )
  })

  for (const target of ['staging', 'production'] as const) {
    it(`core + ${target} equals docker compose config`, () => {
      expectSameModel(deployInvocation(target))
    })
  }

  // Promises the bundled files make (DESIGN.md), checked on Compose's own reading of them.
  describe('policies', () => {
    type ServiceJson = Record<string, Json>
    const servicesOf = (model: Json): Array<[string, ServiceJson]> =>
      Object.entries((model as {services: Record<string, ServiceJson>}).services)

    it('every image is pinned and every published port binds to 127.0.0.1 by default', () => {
      for (const [name, service] of servicesOf(composeConfig(modeInvocation('full')))) {
        const image = String(service.image)
        expect(image, name).toMatch(/:[^/:]+$/)
        expect(image, name).not.toMatch(/:latest$/)
        for (const port of (service.ports ?? []) as ServiceJson[]) {
          const what = `${name} port ${String(port.target)}`
          expect(port.host_ip, what).toBe('127.0.0.1')
          expect(port.published, what).toMatch(/^\d+$/)
        }
      }
    })

    it('every healthcheck sets all its timings, start_interval included', () => {
      const services = servicesOf(composeConfig(modeInvocation('full')))
      // redis-exporter's image is FROM scratch: there is nothing to exec a healthcheck with.
      const without = services.filter(([, service]) => service.healthcheck === undefined).map(([name]) => name)
      expect(without).toStrictEqual(['redis-exporter'])
      for (const [name, service] of services) {
        if (service.healthcheck === undefined) continue
        expect(Object.keys(service.healthcheck as object).sort(), name).toStrictEqual([
          'interval',
          'retries',
          'start_interval',
          'start_period',
          'test',
          'timeout',
        ])
      }
    })

    it('the secrets have no fallback: without them Compose refuses every mode', () => {
      const empty = mkdtempSync(path.join(tmpdir(), 'tta-config-compat-nosecrets-'))
      try {
        writeFileSync(path.join(empty, '.env'), '')
        for (const mode of modeNames) {
          expect(() => composeConfig(modeInvocation(mode, {}, empty)), mode).toThrow(
            /TTA_(REDIS|POSTGRES|NEO4J|GRAFANA_ADMIN)_PASSWORD/,
          )
        }
      } finally {
        rmSync(empty, {recursive: true, force: true})
      }
    })
  })
})
