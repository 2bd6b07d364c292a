// Issue 10, faults: each one ends in one clear message, the right exit code, and an environment
// the next run converges from. Covered elsewhere and not repeated here (test/e2e/engine-edges.test.ts):
// engine unreachable -> exit 3 within 2 s with the fix; Ctrl-C during `tta dev` -> exit 130, no
// created-but-not-started container, the next run converges.
import {spawn} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {cleanupProject, copyWorkspace, docker, dockerExec, freePort, PROJECT_LABEL, removeWorkspace, run, runTta, ttaBin, uniqueProject, waitFor} from './helpers.js'
import {PrivateEngine} from './private-engine.js'

const BUSYBOX = 'tta-standin/frontend:local'
const STACK_TRACE = /^\s+at /m

/** Runs `tta ARGS` in the background; `onStderr` sees the stderr so far and may act on it. Bounded. */
function ttaInBackground(args: string[], env: Record<string, string>, onStderr: (text: string, child: ReturnType<typeof spawn>) => void, timeoutMs = 150_000) {
  const child = spawn(process.execPath, [ttaBin, ...args], {env: {...process.env, ...env, NO_COLOR: '1'}, stdio: ['ignore', 'pipe', 'pipe']})
  let stderr = ''
  let stdout = ''
  const done = new Promise<{code: number | null; stderr: string; stdout: string; exitedAt: number}>((resolve) => {
    const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
      onStderr(stderr, child)
    })
    child.on('close', (code) => {
      clearTimeout(killer)
      resolve({code, stderr, stdout, exitedAt: Date.now()})
    })
  })
  return {child, done}
}

/** Lines starting with the error mark: a fault must produce exactly one. */
const errorLines = (stderr: string): string[] => stderr.split('\n').filter((line) => line.startsWith('✖'))

describe('dockerd killed during tta dev (a private engine; the shared one is never touched)', () => {
  let engine: PrivateEngine | undefined
  let workspace = ''
  const project = uniqueProject('fault-kill')

  beforeAll(async () => {
    engine = await PrivateEngine.create()
    await engine.loadImages([BUSYBOX])
    workspace = mkdtempSync(join(tmpdir(), 'tta-fault-ws-'))
    // Each service gets healthy ~3 s after it starts, the second after the first: a start of ~6 s.
    const slow = (after?: string) => ({
      image: BUSYBOX,
      command: ['sh', '-c', "trap 'exit 0' TERM; sleep 3; touch /tmp/ready; while :; do sleep 1; done"],
      healthcheck: {test: ['CMD', 'test', '-f', '/tmp/ready'], interval: '1s', timeout: '2s', retries: 30},
      ...(after ? {depends_on: {[after]: {condition: 'service_healthy'}}} : {}),
    })
    writeFileSync(join(workspace, 'slow.yml'), JSON.stringify({services: {'slow-a': slow(), 'slow-b': slow('slow-a')}}, null, 2))
  }, 120_000)

  afterAll(async () => {
    const problems = engine ? await engine.destroy() : []
    rmSync(workspace, {recursive: true, force: true})
    if (problems.length > 0) throw new Error(`private engine teardown: ${problems.join('; ')}`)
    // The two engines share the network namespace: the main one's default bridge must survive
    // the private one's start, kill, restart and teardown (dockerd --bridge=none deletes docker0).
    const main = await docker(['run', '--rm', BUSYBOX, 'true'], {allowFailure: true})
    expect(main.stderr).toBe('')
    expect(main.code).toBe(0)
  }, 120_000)

  const args = (): string[] => ['dev', '-f', join(workspace, 'slow.yml'), '--workspace', workspace, '--project-name', project]
  const states = async (): Promise<Record<string, string>> => {
    const out = await (engine as PrivateEngine).docker(['ps', '-a', '--filter', `label=${PROJECT_LABEL}=${project}`, '--format', '{{.Label "com.docker.compose.service"}} {{.State}} {{.ID}}'])
    return Object.fromEntries(out.stdout.trim().split('\n').filter(Boolean).map((l) => l.split(' ')).map(([s, state, id]) => [s, `${state} ${id}`]))
  }

  it('exits 3 with one message (the engine went away, what to do), no stack trace; after a restart tta dev converges, and again recreates nothing', async () => {
    const pd = engine as PrivateEngine
    const env = {DOCKER_HOST: pd.host}
    let killedAt = 0
    let killing: Promise<void> | undefined
    const {done} = ttaInBackground(args(), env, (stderr) => {
      // slow-a has started and tta is polling its healthcheck: the engine dies mid-start.
      if (!killing && /slow-a\s+starting/.test(stderr)) {
        killing = new Promise((r) => setTimeout(r, 1_000)).then(async () => {
          killedAt = Date.now()
          await pd.kill()
        })
      }
    })
    const result = await done
    await killing
    expect(killedAt, `tta finished before the kill:\n${result.stderr}`).toBeGreaterThan(0)
    expect(result.code, result.stderr).toBe(3)
    expect(result.exitedAt - killedAt).toBeLessThan(10_000)
    expect(errorLines(result.stderr)).toEqual([`✖ the Docker engine at ${pd.host} stopped answering (connection refused) during tta dev; nothing more was changed`])
    expect(result.stderr).toContain('→ start the Docker engine again')
    expect(result.stderr).toContain('then run tta dev again: it converges from where this run stopped')
    expect(result.stderr).not.toMatch(STACK_TRACE)
    expect(result.stderr).not.toMatch(/ECONNREFUSED|unexpected error/)

    await pd.start()
    const again = await runTta(args(), {env, timeoutMs: 120_000})
    expect(again.code, again.stderr).toBe(0)
    expect(again.stdout).toContain('2 services ready')
    const converged = await states()
    expect(Object.keys(converged).sort()).toEqual(['slow-a', 'slow-b'])
    expect(Object.values(converged).map((s) => s.split(' ')[0])).toEqual(['running', 'running'])

    const third = await runTta(args(), {env, timeoutMs: 120_000})
    expect(third.code, third.stderr).toBe(0)
    expect(third.stderr).not.toMatch(/creating|recreating|starting/)
    expect(await states()).toEqual(converged)
  })
})

describe('a crash-looping service', () => {
  const project = uniqueProject('fault-crash')
  let workspace = ''

  beforeAll(() => {
    workspace = mkdtempSync(join(tmpdir(), 'tta-fault-ws-'))
    const crasher = (extra: Record<string, unknown>) => ({image: BUSYBOX, command: ['sh', '-c', 'echo "fatal: cannot read /etc/app/config.yml"; exit 1'], ...extra})
    writeFileSync(
      join(workspace, 'crash.yml'),
      JSON.stringify(
        {
          services: {
            // No healthcheck: "running" for a moment must not count as ready.
            'loop-always': crasher({restart: 'always'}),
            // A healthcheck that would never pass anyway: fails on the restarts, not at the timeout.
            'loop-unless-stopped': crasher({restart: 'unless-stopped', healthcheck: {test: ['CMD', 'true'], interval: '1s'}}),
            steady: {image: BUSYBOX, command: ['sh', '-c', "trap 'exit 0' TERM; while :; do sleep 1; done"], restart: 'always'},
          },
        },
        null,
        2,
      ),
    )
  })

  afterAll(async () => {
    await cleanupProject(project)
    rmSync(workspace, {recursive: true, force: true})
  }, 120_000)

  it('fails tta dev within seconds (not the timeout), exit 1, naming each service with its log tail and restart count', async () => {
    const t0 = Date.now()
    const result = await runTta(['dev', '-f', join(workspace, 'crash.yml'), '--workspace', workspace, '--project-name', project, '--timeout', '120'], {timeoutMs: 150_000})
    expect(result.code, result.stderr).toBe(1)
    expect(Date.now() - t0).toBeLessThan(30_000)
    expect(errorLines(result.stderr)).toEqual(['✖ loop-always, loop-unless-stopped did not get ready (timeout 120s)'])
    for (const service of ['loop-always', 'loop-unless-stopped']) {
      expect(result.stderr).toMatch(new RegExp(`^${service}: crash-looping: exits with code 1 and was restarted \\d+ times by its restart policy \\[\\w+, exit code 1\\]$`, 'm'))
      expect(result.stderr).toMatch(new RegExp(`last \\d+ log lines of ${service}:\\n  │ fatal: cannot read /etc/app/config.yml`))
    }
    expect(result.stderr).toMatch(/steady\s+ready/)
    expect(result.stderr).not.toMatch(STACK_TRACE)
  })
})

describe('backup faults (postgres with ~150 MB of rows)', () => {
  const project = uniqueProject('fault-backup')
  let workspace = ''
  let port = 0
  const pg = `${project}-postgres-1`
  const tmpfsDirs: string[] = []
  const env = (): Record<string, string> => ({TTA_POSTGRES_PORT: String(port)})
  const tta = (args: string[], timeoutMs = 120_000) => runTta([...args, '--workspace', workspace, '--project-name', project], {env: env(), timeoutMs})

  async function psql(sql: string): Promise<string> {
    const result = await dockerExec(pg, ['psql', '-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-U', 'tta', '-d', 'tta', '-c', sql], {timeoutMs: 120_000})
    if (result.code !== 0) throw new Error(`psql: ${result.stderr}`)
    return result.stdout
  }

  async function listed(dir: string): Promise<unknown[]> {
    const result = await tta(['backup', '--list', '--json', '--dir', dir])
    expect(result.code, result.stderr).toBe(0)
    return JSON.parse(result.stdout) as unknown[]
  }

  /** Every entry under dir, recursively, relative to it. */
  function tree(dir: string): string[] {
    return readdirSync(dir, {recursive: true, encoding: 'utf8'}).sort()
  }

  async function stackStillRuns(): Promise<void> {
    expect((await docker(['inspect', '--format', '{{.State.Status}}', pg])).stdout.trim()).toBe('running')
    expect((await psql('SELECT count(*) FROM big')).trim()).toBe('1500000')
    // The dump inside the container stopped with tta, or ended with the failure.
    await waitFor(async () => (await psql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pg_dump'")).trim() === '0', {timeoutMs: 5_000, description: 'pg_dump gone'})
  }

  beforeAll(async () => {
    workspace = copyWorkspace()
    port = await freePort()
    const up = await tta(['dev', 'postgres'], 170_000)
    if (up.code !== 0) throw new Error(`tta dev postgres failed:\n${up.stderr}`)
    await psql("CREATE TABLE big AS SELECT g AS id, md5(g::text) || md5((g * 7)::text) || md5((g * 13)::text) AS payload FROM generate_series(1, 1500000) g")
  }, 240_000)

  afterAll(async () => {
    for (const dir of tmpfsDirs) await run('umount', [dir], {timeoutMs: 15_000})
    for (const dir of tmpfsDirs) rmSync(dir, {recursive: true, force: true})
    await cleanupProject(project)
    removeWorkspace(workspace)
  }, 120_000)

  it('SIGINT mid-dump: exit 130, nothing listed, no temp files left, the stack still running', async () => {
    const dir = join(workspace, 'sigint-backups')
    mkdirSync(dir)
    let interrupted = false
    const {child, done} = ttaInBackground(['backup', 'postgres', '--dir', dir, '--workspace', workspace, '--project-name', project], env(), () => undefined)
    // Interrupt once the dump streams into its .partial file.
    await waitFor(
      () => {
        for (const file of existsSync(dir) ? tree(dir) : []) {
          if (file.endsWith('.pgdump.partial')) {
            child.kill('SIGINT')
            interrupted = true
            return true
          }
        }
        return false
      },
      {timeoutMs: 60_000, intervalMs: 20, description: 'the dump streaming into a .partial file'},
    )
    const result = await done
    expect(interrupted).toBe(true)
    expect(result.code, result.stderr).toBe(130)
    expect(errorLines(result.stderr)).toEqual(['✖ interrupted: the unfinished backup was removed; nothing else changed'])
    expect(result.stderr).not.toMatch(STACK_TRACE)
    expect(await listed(dir)).toEqual([])
    expect(tree(dir)).toEqual(['.gitignore'])
    await stackStillRuns()
  })

  it('disk full (2 MB tmpfs as --dir): exit 1 naming the directory and "no space left", nothing listed, no temp files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tta-fault-full-'))
    const mounted = await run('mount', ['-t', 'tmpfs', '-o', 'size=2m,mode=0700', 'tmpfs', dir], {timeoutMs: 15_000})
    expect(mounted.code, mounted.stderr).toBe(0)
    tmpfsDirs.push(dir)
    const t0 = Date.now()
    const result = await tta(['backup', 'postgres', '--dir', dir])
    expect(result.code, result.stderr).toBe(1)
    expect(Date.now() - t0).toBeLessThan(60_000)
    const errors = errorLines(result.stderr)
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatch(new RegExp(`^✖ no space left on device in the backup directory ${dir}: the unfinished backup \\d{8}T\\d{6}Z\\S* was removed; nothing is listed and no data changed$`))
    expect(result.stderr).toContain('→ free space on that disk, or pass --dir')
    expect(result.stderr).not.toMatch(STACK_TRACE)
    expect(await listed(dir)).toEqual([])
    expect(tree(dir)).toEqual(['.gitignore'])
    await stackStillRuns()
  })
})
