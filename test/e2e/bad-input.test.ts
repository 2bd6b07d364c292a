// The bad-input corpus (test/fixtures/bad-input/cases.ts), and the compose-invalid corpus through
// `tta dev -f`, run through the built CLI. Every case must end in exit 2 with one error line (and
// at most a hint) naming the file:line or the flag, no stack trace, no "Error:" lead-in, nothing on
// stdout, and nothing created on the engine. Two engine checks:
// - per command, a recording proxy in front of the engine socket (DOCKER_HOST) lists every API
//   call the command made: any call but GET/HEAD fails the case (race-free while other stacks run);
// - for the whole file, containers/networks/volumes (ids, all projects) are listed before and
//   after: nothing may carry one of this run's project names (each case runs under its own).
import {appendFileSync, cpSync, existsSync, mkdtempSync, readdirSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {BAD_INPUT_DIR, CASES, type BadInputCase, type Location} from '../fixtures/bad-input/cases.js'
import {expectedText, findsExpectedError, loadCases} from '../fixtures/compose-invalid/cases.js'
import {ensureSecrets, GENERATED_SECRETS} from '../../src/workspace/secrets.js'
import {startEngineRecorder} from './engine-recorder.js'
import {copyWorkspace, docker, removeWorkspace, repoRoot, runTta, uniqueProject, type RunResult} from './helpers.js'

const RUN = uniqueProject('bad')
const CASE_TIMEOUT_MS = 30_000
/**
 * A bad-input case needs no engine work: about 0.5 s alone here, up to 13 s measured with ten other
 * processes per core. Past this, something waited (an engine start, a pull, a readiness wait).
 */
const FAST_MS = 20_000

/** A user who has set nothing: no TTA_* variables from the test's shell, no docker context, no colours. */
function cleanEnv(extra: Record<string, string> = {}): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {}
  for (const name of Object.keys(process.env)) {
    if (name.startsWith('TTA_') || name.startsWith('DOCKER_') || name === 'FORCE_COLOR' || name === 'DEBUG') env[name] = undefined
  }
  return {...env, NO_COLOR: '1', ...extra}
}

/** What is wrong with how the CLI answered, if anything (empty: the case passes). */
function answerProblems(result: RunResult, expectLine: (line: string) => boolean, expected: string): string[] {
  const problems: string[] = []
  if (result.timedOut) problems.push(`timed out after ${CASE_TIMEOUT_MS} ms`)
  if (result.code !== 2) problems.push(`exit ${String(result.code)}, expected 2`)
  if (result.stdout.trim() !== '') problems.push('printed on stdout')
  const lines = result.stderr.split('\n').filter((line) => line.trim() !== '')
  const errors = lines.filter((line) => line.startsWith('✖'))
  if (errors.length !== 1 || lines[0] !== errors[0]) problems.push(`expected exactly one error line first, got ${errors.length}`)
  // After the error line: hints (`  → ...`), a hint may wrap onto indented lines.
  const rest = lines.slice(1)
  if (rest.length > 0 && !rest[0]?.trim().startsWith('→')) problems.push('second line is not a hint (→)')
  if (rest.some((line) => !/^\s/.test(line))) problems.push('a line after the error is neither a hint nor indented')
  if (/^\s+at /m.test(result.stderr)) problems.push('stack trace')
  if (/^\W*[A-Za-z]*Error:/m.test(result.stderr)) problems.push('"Error:" lead-in')
  if (errors.length > 0 && !expectLine(errors[0] as string)) problems.push(`the error line does not name ${expected}`)
  if (result.durationMs > FAST_MS) problems.push(`took ${result.durationMs} ms`)
  return problems
}

function describeLocation(where: Location, ws: string): {test: (line: string) => boolean; text: string} {
  if ('names' in where) return {test: (line) => line.includes(where.names), text: JSON.stringify(where.names)}
  const file = where.file.startsWith('compose/') ? join(repoRoot, where.file) : join(ws, where.file)
  const head = `${file}:${where.line}:`
  return {test: (line) => line.includes(` ${head}`), text: `${head}<col>`}
}

/** Inserts `--project-name` right after the command word, so a flag missing its value stays last. */
function withProject(c: BadInputCase, ws: string, project: string): string[] {
  const args = c.args.map((arg) => arg.replaceAll('{ws}', ws))
  if (c.noProjectFlag || args.some((arg) => arg === '--project-name' || arg.startsWith('--project-name='))) return args
  return [args[0] as string, '--project-name', project, ...args.slice(1)]
}

interface Resource {
  id: string
  name: string
  project: string
}

/** Containers, networks and volumes of the whole engine (every project), with their compose project label. */
async function engineResources(): Promise<Resource[]> {
  const format = '{{.ID}}\t{{.Names}}\t{{.Label "com.docker.compose.project"}}'
  const parse = (kind: string, text: string): Resource[] =>
    text
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => {
        const [id = '', name = '', project = ''] = line.split('\t')
        return {id: `${kind}:${id}`, name, project}
      })
  const [containers, networks, volumes] = await Promise.all([
    docker(['ps', '-a', '--no-trunc', '--format', format]),
    docker(['network', 'ls', '--no-trunc', '--format', format.replace('.Names', '.Name')]),
    docker(['volume', 'ls', '--format', '{{.Name}}\t{{.Name}}\t{{.Label "com.docker.compose.project"}}']),
  ])
  return [...parse('container', containers.stdout), ...parse('network', networks.stdout), ...parse('volume', volumes.stdout)]
}

const ours = (r: Resource): boolean => r.project.startsWith(RUN) || r.name.includes(RUN)

let template = ''
let before: Resource[] = []

beforeAll(async () => {
  expect(existsSync(join(repoRoot, 'dist', 'commands', 'dev.js')), 'build the CLI first').toBe(true)
  // A workspace as after a first run: stand-in images mapped, secrets generated into .env.
  // (`tta config` is read-only and no longer writes them; `tta dev` does, with this function.)
  template = copyWorkspace()
  expect(ensureSecrets(join(template, '.env'), {}).generated).toHaveLength(GENERATED_SECRETS.length)
  before = await engineResources()
})

afterAll(async () => {
  if (template) removeWorkspace(template)
  const after = await engineResources()
  const known = new Set(before.map((r) => r.id))
  const appeared = after.filter((r) => !known.has(r.id))
  // Other test files may start stacks meanwhile; what this run's commands could have made carries its names.
  expect(appeared.filter(ours), 'resources created by the bad-input commands').toEqual([])
  expect(after.filter(ours), 'resources labelled with this run\'s projects').toEqual([])
})

describe.concurrent('bad input through the CLI', () => {
  it('every command of the CLI has bad-input cases, and case names are unique', () => {
    // A new command without a case here fails: its bad input would go unchecked.
    const commands = readdirSync(join(repoRoot, 'src', 'commands')).filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3)).sort()
    const covered = new Set(CASES.map((c) => c.args[0]))
    expect(commands.filter((command) => !covered.has(command))).toEqual([])
    expect(new Set(CASES.map((c) => c.name)).size).toBe(CASES.length)
  })

  it('the recorder sees what a client changes on the engine', async () => {
    // The control for every "changed the engine" check below: a network created through the
    // recorder shows up as a POST, and reads as GETs.
    const recorder = await startEngineRecorder()
    const name = `${RUN}-control`
    try {
      await docker(['--host', recorder.dockerHost, 'network', 'create', name])
      await docker(['--host', recorder.dockerHost, 'network', 'inspect', name])
    } finally {
      await docker(['network', 'rm', name], {allowFailure: true})
      await recorder.close()
    }
    expect(recorder.mutations().map((r) => r.method + ' ' + r.path.replace(/^\/v[\d.]+/, ''))).toEqual(['POST /networks/create'])
    expect(recorder.requests.some((r) => r.method === 'GET' && r.path.includes(`/networks/${name}`))).toBe(true)
  })

  it('uses every fixture directory', () => {
    const dirs = readdirSync(BAD_INPUT_DIR, {withFileTypes: true}).filter((e) => e.isDirectory()).map((e) => e.name)
    const used = new Set(CASES.map((c) => c.fixture))
    expect(dirs.filter((d) => !used.has(d))).toEqual([])
  })

  CASES.forEach((c, index) => {
    it(c.name, {timeout: CASE_TIMEOUT_MS + 10_000}, async () => {
      // Cases that change no file share the template workspace (nothing they run writes to it).
      const ownCopy = c.fixture !== undefined || c.appendEnv !== undefined
      const ws = ownCopy ? mkdtempSync(join(tmpdir(), 'tta-bad-')) : template
      const recorder = await startEngineRecorder()
      try {
        if (ownCopy) cpSync(template, ws, {recursive: true})
        if (c.fixture) {
          const fixture = join(BAD_INPUT_DIR, c.fixture)
          cpSync(fixture, ws, {recursive: true})
          if (existsSync(join(fixture, 'override.yml')) && !existsSync(join(fixture, 'tta.config.yaml'))) {
            appendFileSync(join(ws, 'tta.config.yaml'), 'composeFiles:\n  - override.yml\n')
          }
        }
        if (c.appendEnv) appendFileSync(join(ws, '.env'), c.appendEnv)
        const project = `${RUN}-${index}`
        const args = withProject(c, ws, project)
        const hasWorkspace = args.some((a) => a === '--workspace' || a.startsWith('--workspace='))
        const result = await runTta(hasWorkspace ? args : [...args, '--workspace', ws], {
          cwd: ws,
          env: cleanEnv({DOCKER_HOST: recorder.dockerHost, ...c.env}),
          timeoutMs: CASE_TIMEOUT_MS,
        })
        const where = describeLocation(c.where, ws)
        const problems = answerProblems(result, (line) => where.test(line) && line.toLowerCase().includes(c.match.toLowerCase()), `${where.text} and "${c.match}"`)
        const calls = recorder.mutations().map((r) => `${r.method} ${r.path}`)
        if (calls.length > 0) problems.push(`changed the engine: ${calls.join(', ')}`)
        expect(problems, `tta ${args.join(' ')}\nexit ${String(result.code)} in ${result.durationMs} ms\nstderr:\n${result.stderr}\nstdout:\n${result.stdout}`).toEqual([])
      } finally {
        await recorder.close()
        if (ownCopy) removeWorkspace(ws)
      }
    })
  })
})

describe.concurrent('the compose-invalid corpus through tta dev -f', () => {
  // Every case runs through `tta config` in config-invalid.test.ts; every other one here, so the
  // engine check covers the command that would create things, at half the time.
  const invalid = loadCases().filter((_, i) => i % 2 === 0)
  invalid.forEach((c, index) => {
    it(c.name, {timeout: CASE_TIMEOUT_MS + 10_000}, async () => {
      const recorder = await startEngineRecorder()
      try {
        const args = ['dev', '--project-name', `${RUN}-ci${index}`, '--workspace', c.dir, ...c.absFiles.flatMap((f) => ['-f', f])]
        const result = await runTta(args, {cwd: c.dir, env: cleanEnv({DOCKER_HOST: recorder.dockerHost}), timeoutMs: CASE_TIMEOUT_MS})
        const problems = answerProblems(result, (line) => findsExpectedError(c, line), expectedText(c))
        const calls = recorder.mutations().map((r) => `${r.method} ${r.path}`)
        if (calls.length > 0) problems.push(`changed the engine: ${calls.join(', ')}`)
        expect(problems, `tta ${args.join(' ')}\nexit ${String(result.code)}\nstderr:\n${result.stderr}\nstdout:\n${result.stdout}`).toEqual([])
      } finally {
        await recorder.close()
      }
    })
  })
})
