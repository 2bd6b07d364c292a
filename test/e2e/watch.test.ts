// `tta dev --watch` as a developer runs it: attached, in a pseudo-terminal (util-linux `script`), on a
// copy of the fixture workspace with its own project name, host ports and image names. Edits go
// through the engine API (archive uploads), never a bind mount. Every wait is bounded.
import {spawn, type ChildProcess} from 'node:child_process'
import {appendFileSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {cleanupProject, copyWorkspace, CORE_PORT_VARS, docker, dockerExec, freePortEnv, httpGet, removeWorkspace, ttaBin, uniqueProject, waitFor} from './helpers.js'

const project = uniqueProject('watch')
let workspace = ''
let env: Record<string, string> = {}
let terminal: Terminal | undefined

/** tta under a pseudo-terminal: its output collected, keys written to it, its exit awaited. */
class Terminal {
  text = ''
  readonly exited: Promise<number | null>
  private readonly child: ChildProcess

  constructor(args: string[], extraEnv: Record<string, string>) {
    const quote = (a: string): string => `'${a.replace(/'/g, `'\\''`)}'`
    // `script` gives the pty no size: set one so the status lines have room.
    const command = `stty rows 50 cols 160; exec ${[process.execPath, ttaBin, ...args].map(quote).join(' ')}`
    // A developer's terminal: CI (set by .ci/run) would turn the session into plain lines.
    const childEnv: NodeJS.ProcessEnv = {...process.env, ...extraEnv, NO_COLOR: '1'}
    delete childEnv.CI
    this.child = spawn('script', ['-qefc', command, '/dev/null'], {env: childEnv, stdio: ['pipe', 'pipe', 'pipe']})
    const onData = (chunk: Buffer): void => {
      this.text += chunk.toString('utf8')
    }
    this.child.stdout?.on('data', onData)
    this.child.stderr?.on('data', onData)
    this.exited = new Promise((resolve) => this.child.on('close', (code) => resolve(code)))
  }

  /** The output with terminal control sequences removed. */
  get plain(): string {
    // eslint-disable-next-line no-control-regex -- stripping the escape sequences the session draws with
    return this.text.replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b[78]/g, '').replace(/\r/g, '')
  }

  key(keys: string): void {
    this.child.stdin?.write(keys)
  }

  async waitForOutput(pattern: RegExp, timeoutMs: number, from = 0): Promise<RegExpMatchArray> {
    try {
      return await waitFor(() => this.plain.slice(from).match(pattern), {timeoutMs, intervalMs: 100, description: `output ${pattern}`})
    } catch (error) {
      throw new Error(`${(error as Error).message}; output since:\n${this.plain.slice(from).slice(-4000)}`)
    }
  }

  kill(): void {
    this.child.kill('SIGKILL')
  }
}

const adminPort = (): string => env.TTA_ADMIN_API_PORT as string
const apiDir = (): string => join(workspace, 'services/admin-api')
const containerName = (service: string): string => `${project}-${service}-1`

async function containerIds(): Promise<Record<string, string>> {
  const result = await docker(['ps', '--filter', `label=com.docker.compose.project=${project}`, '--format', '{{.Label "com.docker.compose.service"}} {{.ID}}'])
  return Object.fromEntries(result.stdout.trim().split('\n').filter(Boolean).map((line) => line.split(' ') as [string, string]))
}

beforeAll(async () => {
  workspace = copyWorkspace()
  // A real API installs its requirements in the image: the rebuild test needs a change there to
  // change the image.
  writeFileSync(join(apiDir(), 'requirements.txt'), 'fastapi\n')
  const dockerfile = join(apiDir(), 'Dockerfile')
  writeFileSync(dockerfile, readFileSync(dockerfile, 'utf8').replace('COPY app/ /app/app/', 'COPY requirements.txt /app/requirements.txt\nCOPY app/ /app/app/'))
  // Own ports and own image names: other stacks on this engine keep theirs.
  env = {...(await freePortEnv(CORE_PORT_VARS)), TTA_IMAGE_PREFIX: project}
  terminal = new Terminal(['dev', 'admin-api', '--watch', '--workspace', workspace, '--project-name', project], env)
  await terminal.waitForOutput(/watching admin-api/, 240_000)
}, 300_000)

afterAll(async () => {
  terminal?.kill()
  await cleanupProject(project, {images: true})
  if (workspace) removeWorkspace(workspace)
}, 180_000)

describe('tta dev --watch in a pseudo-terminal (stand-in python image with uvicorn --reload)', () => {
  it('starts the service and its dependencies, one status line each, with no source bind mount', async () => {
    const mounts = await docker(['inspect', '--format', '{{range .Mounts}}{{.Type}}:{{.Destination}} {{end}}', containerName('admin-api')])
    expect(mounts.stdout).not.toContain('/app/app')
    expect(Object.keys(await containerIds()).sort()).toEqual(['admin-api', 'postgres', 'redis'])
    const t = terminal as Terminal
    expect(t.plain).toMatch(/admin-api +running/)
    expect(t.plain).toMatch(/r restart · b rebuild · l filter logs · p pause · s status · o open · q quit/)
  })

  it('an edit in the API gives the new response', async () => {
    const before = await httpGet(`http://127.0.0.1:${adminPort()}/`)
    expect(JSON.parse(before.body)).toMatchObject({version: '1'})
    const main = join(apiDir(), 'app/main.py')
    writeFileSync(main, readFileSync(main, 'utf8').replace('"version": "1"', '"version": "watched-1"'))
    const body = await waitFor(
      async () => {
        const response = await httpGet(`http://127.0.0.1:${adminPort()}/`, 2_000)
        return response.body.includes('watched-1') && response.body
      },
      {timeoutMs: 30_000, intervalMs: 100, description: 'the edited response'},
    )
    expect(JSON.parse(body)).toEqual({service: 'admin-api', version: 'watched-1'})
    await (terminal as Terminal).waitForOutput(/admin-api: sync done in \d+ ms \(1 file\)/, 10_000)
  })

  it('a file added and a file deleted both show in the container', async () => {
    const added = join(apiDir(), 'app/added_by_test.py')
    writeFileSync(added, 'VALUE = 42\n')
    await waitFor(async () => (await dockerExec(containerName('admin-api'), ['cat', '/app/app/added_by_test.py'])).stdout.includes('VALUE = 42'), {timeoutMs: 20_000, description: 'the added file in the container'})
    rmSync(added)
    await waitFor(async () => (await dockerExec(containerName('admin-api'), ['ls', '/app/app'])).stdout.split('\n').every((name) => name.trim() !== 'added_by_test.py'), {timeoutMs: 20_000, description: 'the deleted file gone from the container'})
    const listing = await dockerExec(containerName('admin-api'), ['ls', '/app/app'])
    expect(listing.stdout).toContain('main.py')
  })

  it('a requirements change rebuilds and recreates that service and leaves the others untouched', async () => {
    const t = terminal as Terminal
    const before = await containerIds()
    const mark = t.plain.length
    appendFileSync(join(apiDir(), 'requirements.txt'), 'uvicorn\n')
    await t.waitForOutput(/admin-api: rebuild (done|failed)[^\n]*/, 170_000, mark)
    expect(t.plain.slice(mark)).toMatch(/admin-api: rebuild done in [\d.]+ ?m?s \(recreated\)/)
    const after = await containerIds()
    expect(after['admin-api']).toBeDefined()
    expect(after['admin-api']).not.toBe(before['admin-api'])
    expect(after.postgres).toBe(before.postgres)
    expect(after.redis).toBe(before.redis)
    const inImage = await dockerExec(containerName('admin-api'), ['cat', '/app/requirements.txt'])
    expect(inImage.stdout).toContain('uvicorn')
    // The new container was built from the synced sources too.
    const response = await httpGet(`http://127.0.0.1:${adminPort()}/`)
    expect(response.body).toContain('watched-1')
  }, 180_000)

  it('r restarts the chosen service (same container, started again)', async () => {
    const t = terminal as Terminal
    const startedAt = async (): Promise<string> => (await docker(['inspect', '--format', '{{.State.StartedAt}}', containerName('admin-api')])).stdout.trim()
    const id = (await containerIds())['admin-api']
    const before = await startedAt()
    const mark = t.plain.length
    t.key('r')
    const choice = await t.waitForOutput(/restart: [^\n]*?(\d) admin-api/, 10_000, mark)
    t.key(choice[1] as string)
    await t.waitForOutput(/admin-api: restart done in/, 60_000, mark)
    expect(await startedAt()).not.toBe(before)
    expect((await containerIds())['admin-api']).toBe(id)
    await waitFor(async () => (await httpGet(`http://127.0.0.1:${adminPort()}/`, 2_000)).body.includes('watched-1'), {timeoutMs: 30_000, description: 'admin-api answering after the restart'})
  }, 90_000)

  it('a failed rebuild leaves the old container running and shows the build error', async () => {
    const t = terminal as Terminal
    const id = (await containerIds())['admin-api']
    const dockerfile = join(apiDir(), 'Dockerfile')
    const good = readFileSync(dockerfile, 'utf8')
    let mark = t.plain.length
    // A COPY of a missing file fails the build without running anything.
    writeFileSync(dockerfile, `${good}COPY broken-on-purpose.txt /nowhere\n`)
    await t.waitForOutput(/admin-api: rebuild (done|failed)/, 170_000, mark)
    expect(t.plain.slice(mark)).toMatch(/admin-api: rebuild failed after [^\n]*build failed, the running container is kept/)
    expect(t.plain.slice(mark)).toContain('broken-on-purpose')
    expect((await containerIds())['admin-api']).toBe(id)
    expect((await httpGet(`http://127.0.0.1:${adminPort()}/`)).body).toContain('watched-1')
    // Putting the Dockerfile back rebuilds again (from cache); wait for it so the next tests start calm.
    mark = t.plain.length
    writeFileSync(dockerfile, good)
    await t.waitForOutput(/admin-api: rebuild (done|failed)/, 170_000, mark)
  }, 360_000)

  it('a crashed service is shown with its log tail, watching goes on, and the next change restarts it', async () => {
    const t = terminal as Terminal
    const mark = t.plain.length
    await docker(['kill', containerName('admin-api')])
    await t.waitForOutput(/admin-api: crashed \(exit code 137\); still watching[^\n]*\n\s*│ /, 30_000, mark)
    const main = join(apiDir(), 'app/main.py')
    writeFileSync(main, readFileSync(main, 'utf8').replace('"version": "watched-1"', '"version": "watched-2"'))
    const body = await waitFor(
      async () => {
        const response = await httpGet(`http://127.0.0.1:${adminPort()}/`, 2_000)
        return response.body.includes('watched-2') && response.body
      },
      {timeoutMs: 60_000, intervalMs: 200, description: 'the restarted service answering with the edit'},
    )
    expect(JSON.parse(body)).toMatchObject({version: 'watched-2'})
  }, 120_000)

  it('q exits 0, says the stack keeps running, and it does', async () => {
    const t = terminal as Terminal
    t.key('q')
    const code = await Promise.race([t.exited, new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 30_000))])
    expect(code).toBe(0)
    expect(t.plain).toMatch(/the stack keeps running \(project tta-watch-/)
    const running = await docker(['ps', '--filter', `label=com.docker.compose.project=${project}`, '--filter', 'status=running', '--format', '{{.Label "com.docker.compose.service"}}'])
    expect(running.stdout.trim().split('\n').sort()).toEqual(['admin-api', 'postgres', 'redis'])
  }, 60_000)
})
