// vitest globalSetup for the e2e project: the suite needs a real engine, the stand-in images and the
// built CLI. Anything missing fails the run with the command that fixes it; e2e tests never skip.
import {existsSync} from 'node:fs'
import {join} from 'node:path'

import {run, repoRoot, STANDIN_NAMES, standinImage} from './helpers.js'

export async function setup(): Promise<void> {
  const info = await run('docker', ['info', '--format', '{{.ServerVersion}}'], {timeoutMs: 30_000}).catch(
    (err: unknown) => ({code: -1, stdout: '', stderr: err instanceof Error ? err.message : String(err), timedOut: false}),
  )
  if (info.code !== 0) {
    throw new Error(
      'e2e: the Docker engine is not reachable (`docker info` failed' +
        (info.timedOut ? ', timed out' : '') +
        `: ${info.stderr.trim().split('\n').slice(-2).join(' ')}).\n` +
        'Start it with `scripts/engine.sh` (or run everything with `npm test`).',
    )
  }

  const inspect = await run('docker', ['image', 'inspect', '--format', '{{.Id}}', ...STANDIN_NAMES.map(standinImage)], {
    timeoutMs: 30_000,
  })
  if (inspect.code !== 0) {
    const missing: string[] = []
    for (const name of STANDIN_NAMES) {
      const one = await run('docker', ['image', 'inspect', '--format', '{{.Id}}', standinImage(name)], {timeoutMs: 15_000})
      if (one.code !== 0) missing.push(standinImage(name))
    }
    throw new Error(
      `e2e: stand-in images missing: ${missing.join(', ') || '(docker image inspect failed: ' + inspect.stderr.trim() + ')'}.\n` +
        'Build them with `scripts/standins.sh` (or run everything with `npm test`).',
    )
  }

  if (!existsSync(join(repoRoot, 'dist', 'commands'))) {
    throw new Error('e2e: the CLI is not built (no dist/commands). Run `npm run build` (or `npm test`).')
  }
}
