// Issue 5 acceptance for `tta logs`: three services emitting interleaved timestamped lines on the
// real engine; history merged in timestamp order; -f following a restarted container and one
// that appears after it began; --json, --grep, -n, --until and --summary.
import {spawn} from 'node:child_process'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {cleanupProject, copyWorkspace, docker, removeWorkspace, runTta, ttaBin, uniqueProject, waitFor} from './helpers.js'

const project = uniqueProject('logs')
let workspace = ''

/**
 * A busybox service: a boot line with a fresh uuid (so every start is recognisable), 15 numbered
 * lines 0.2 s apart (odd ones on stderr), a done line, then it idles.
 */
function emitter(name: string, delay: string): string {
  const script = [
    `sleep ${delay}`,
    `echo "${name} boot $(cat /proc/sys/kernel/random/uuid)"`,
    'i=0',
    `while [ $i -lt 15 ]; do if [ $((i % 2)) -eq 1 ]; then echo "${name} line $i" >&2; else echo "${name} line $i"; fi; i=$((i + 1)); sleep 0.2; done`,
    `echo "${name} done"`,
    'exec sleep 3600',
  ].join('; ')
  // `$$`: compose files interpolate `$`; the shell must see it.
  return `  ${name}:\n    image: tta-standin/frontend:local\n    entrypoint: ["/bin/sh", "-c"]\n    command: [${JSON.stringify(script.replace(/\$/g, '$$$$'))}]\n    stop_grace_period: 1s\n`
}

const three = `services:\n${emitter('alpha', '0')}${emitter('beta', '0.07')}${emitter('gamma', '0.14')}`
const four = `${three}${emitter('delta', '0')}`

const tta = (args: string[], timeoutMs = 60_000) => runTta([...args, '--workspace', workspace, '--project-name', project], {timeoutMs})

async function allDone(names: string[]): Promise<void> {
  await waitFor(
    async () => {
      for (const name of names) {
        const out = await docker(['logs', `${project}-${name}-1`])
        if (!out.stdout.includes(`${name} done`)) return false
      }
      return true
    },
    {timeoutMs: 30_000, intervalMs: 250, description: `${names.join(', ')} done`},
  )
}

beforeAll(async () => {
  workspace = copyWorkspace()
  writeFileSync(join(workspace, 'three.yml'), three)
  writeFileSync(join(workspace, 'four.yml'), four)
  const up = await tta(['dev', '-f', join(workspace, 'three.yml')], 120_000)
  if (up.code !== 0) throw new Error(`tta dev failed (${up.code}):\n${up.stderr}`)
  await allDone(['alpha', 'beta', 'gamma'])
})

afterAll(async () => {
  await cleanupProject(project)
  removeWorkspace(workspace)
})

interface Printed {
  service: string
  ts: string
  text: string
}

function parse(stdout: string): Printed[] {
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const match = /^(\S+)\s+\| (\S+) (.*)$/.exec(line)
      if (!match) throw new Error(`unexpected line: ${line}`)
      return {service: match[1] as string, ts: match[2] as string, text: match[3] as string}
    })
}

describe('tta logs', () => {
  it('--since 1m prints the lines of three services merged in timestamp order, stdout and stderr alike', async () => {
    const result = await tta(['logs', '--since', '1m', '-t'])
    expect(result.code).toBe(0)
    const lines = parse(result.stdout)
    expect(lines).toHaveLength(3 * 17)
    for (let i = 1; i < lines.length; i++) expect(lines[i - 1]!.ts <= lines[i]!.ts, `${lines[i - 1]!.ts} then ${lines[i]!.ts}`).toBe(true)
    // Interleaved, not grouped per service: the service changes on most lines.
    const switches = lines.filter((l, i) => i > 0 && l.service !== lines[i - 1]!.service).length
    expect(switches).toBeGreaterThan(30)
    for (const name of ['alpha', 'beta', 'gamma']) {
      const own = lines.filter((l) => l.service === name).map((l) => l.text)
      expect(own[0]).toMatch(new RegExp(`^${name} boot `))
      expect(own.slice(1, 16)).toEqual(Array.from({length: 15}, (_, i) => `${name} line ${i}`))
      expect(own[16]).toBe(`${name} done`)
      // The prefix is the service name, padded to the longest.
      expect(result.stdout).toContain(`${name.padEnd(5)} | `)
    }
  })

  it('--json prints one object per line with time, service, container, stream and message', async () => {
    const result = await tta(['logs', 'beta', '--json'])
    expect(result.code).toBe(0)
    const objects = result.stdout.trim().split('\n').map((l) => JSON.parse(l) as {time: string; service: string; container: string; stream: string; message: string})
    expect(objects).toHaveLength(17)
    expect(objects[2]).toEqual({time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/), service: 'beta', container: `${project}-beta-1`, stream: 'stderr', message: 'beta line 1'})
    expect(objects[3]).toMatchObject({stream: 'stdout', message: 'beta line 2'})
  })

  it('-n, --grep and --until narrow the lines; --summary counts them', async () => {
    const messages = (stdout: string): string[] => stdout.trim().split('\n').map((l) => l.split(' | ')[1] ?? l)
    const tail = await tta(['logs', 'alpha', 'gamma', '-n', '2'])
    expect(tail.code).toBe(0)
    const last = messages(tail.stdout)
    expect([...last].sort()).toEqual(['alpha done', 'alpha line 14', 'gamma done', 'gamma line 14'])
    expect(last.indexOf('alpha line 14')).toBeLessThan(last.indexOf('alpha done'))
    const grep = await tta(['logs', '--grep', 'line 1[0-2]$'])
    expect(messages(grep.stdout).sort()).toEqual(['alpha line 10', 'alpha line 11', 'alpha line 12', 'beta line 10', 'beta line 11', 'beta line 12', 'gamma line 10', 'gamma line 11', 'gamma line 12'])
    const insensitive = await tta(['logs', 'alpha', '--grep', 'ALPHA DONE', '-i'])
    expect(insensitive.stdout.trim()).toMatch(/^alpha \| alpha done$/)
    const before = await tta(['logs', '--until', '2020-01-01T00:00:00Z'])
    expect(before.code).toBe(0)
    expect(before.stdout).toBe('')
    const summary = await tta(['logs', '--summary', '--json'])
    const parsed = JSON.parse(summary.stdout) as {services: Array<{service: string; lines: number}>; total: {lines: number}}
    expect(parsed.services.map((s) => [s.service, s.lines])).toEqual([['alpha', 17], ['beta', 17], ['gamma', 17]])
    expect(parsed.total.lines).toBe(51)
    const table = await tta(['logs', '--summary'])
    expect(table.stdout).toMatch(/^alpha\s+17\s+0\s+0\s+0\s+0$/m)
    const bad = await tta(['logs', '--since', 'yesterday'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('--since: cannot read "yesterday" as a time')
    expect((await tta(['logs', '--grep', '('])).code).toBe(2)
    expect((await tta(['logs', 'nope'])).code).toBe(2)
  })

  it('-f follows a container restarted after it began, and one that appears later; Ctrl-C ends it with 130', async () => {
    const child = spawn(process.execPath, [ttaBin, 'logs', '-f', '--workspace', workspace, '--project-name', project], {env: {...process.env, NO_COLOR: '1'}, stdio: ['ignore', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c))
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c))
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
    const boots = (name: string): string[] => [...stdout.matchAll(new RegExp(`^${name}\\s+\\| ${name} boot (\\S+)$`, 'gm'))].map((m) => m[1] as string)
    try {
      await waitFor(() => stdout.includes('gamma done'), {timeoutMs: 15_000, description: 'history printed'})
      expect(boots('alpha')).toHaveLength(1)

      await docker(['restart', '-t', '1', `${project}-alpha-1`])
      await waitFor(() => boots('alpha').length === 2 && stdout.split('alpha done').length === 3, {timeoutMs: 20_000, intervalMs: 100, description: 'the restarted alpha followed'})
      const [first, second] = boots('alpha')
      expect(second).not.toBe(first)
      // Nothing printed twice: the restarted container's log picks up after the last line shown.
      expect(stdout.split(`alpha boot ${first}`).length).toBe(2)

      const up = await tta(['dev', '-f', join(workspace, 'four.yml')], 120_000)
      expect(up.code).toBe(0)
      await waitFor(() => stdout.includes('delta | delta done'), {timeoutMs: 20_000, intervalMs: 100, description: 'the new delta followed'})
      expect(boots('delta')).toHaveLength(1)
      expect(stdout).toContain(`--- ${project}-delta-1 appeared, following it`)
    } finally {
      child.kill('SIGINT')
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
    expect(await exited).toBe(130)
    clearTimeout(timer)
    expect(stderr).toBe('')
  })
})
