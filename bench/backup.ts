// bench/backup: `tta backup postgres` against `docker exec <postgres> pg_dump -Fc > file` on the
// same ~1 GB database, in one run, alternating, and prints the ratio (target <= 1.1). Writes
// bench/results/backup.json.
//
//   npx tsx bench/backup.ts            (needs the engine, the built CLI and the postgres stand-in)
//   BENCH_ROWS=2000000 BENCH_ROUNDS=2 npx tsx bench/backup.ts   (smaller / fewer, for a quick look)
import {spawnSync} from 'node:child_process'
import {closeSync, cpSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

import {connectEngine} from '../src/docker/client.js'
import {freePort, median, removeProject} from './lib.js'

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const tta = join(repo, 'bin', 'run.js')
// ~170 bytes per row on disk: 6.3 M rows is about 1 GB.
const ROWS = Number(process.env.BENCH_ROWS ?? 6_300_000)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)

function sh(command: string, args: string[], options: {env?: Record<string, string>; stdoutFile?: string} = {}): {ms: number; stdout: string} {
  const fd = options.stdoutFile ? openSync(options.stdoutFile, 'w', 0o600) : undefined
  const t0 = performance.now()
  const result = spawnSync(command, args, {
    env: {...process.env, ...options.env, NO_COLOR: '1'},
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    stdio: ['ignore', fd ?? 'pipe', 'pipe'],
  })
  const ms = performance.now() - t0
  if (fd !== undefined) closeSync(fd)
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${result.status}:\n${(result.stderr ?? '').slice(-2000)}`)
  return {ms, stdout: result.stdout ?? ''}
}




async function main(): Promise<void> {
  const conn = await connectEngine()
  const project = `tta-bench-backup-${Date.now().toString(36)}`
  const workspace = mkdtempSync(join(tmpdir(), 'tta-bench-ws-'))
  const out = mkdtempSync(join(tmpdir(), 'tta-bench-out-'))
  cpSync(join(repo, 'test/fixtures/workspace'), workspace, {recursive: true})
  const env = {TTA_POSTGRES_PORT: String(await freePort())}
  const container = `${project}-postgres-1`
  const flags = ['--workspace', workspace, '--project-name', project]
  try {
    process.stderr.write(`bench backup: starting postgres (${project})…\n`)
    sh(process.execPath, [tta, 'dev', 'postgres', ...flags], {env})
    process.stderr.write(`bench backup: generating ${ROWS} rows…\n`)
    const gen = sh('docker', [
      'exec', container, 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-U', 'tta', '-d', 'tta', '-c',
      `CREATE TABLE bench AS SELECT g AS id, md5(g::text) AS a, md5((g * 3)::text) AS b, md5((g * 7)::text) AS c, md5((g * 11)::text) AS d, timestamptz '2026-01-01' + g * interval '1 second' AS at FROM generate_series(1, ${ROWS}) g`,
    ])
    const size = Number(sh('docker', ['exec', container, 'psql', '-X', '-At', '-U', 'tta', '-d', 'tta', '-c', "SELECT pg_database_size('tta')"]).stdout.trim())
    process.stderr.write(`bench backup: ${(size / 1e9).toFixed(2)} GB generated in ${(gen.ms / 1000).toFixed(1)} s\n`)

    const rounds: Array<{tta: number; docker: number; ttaBytes: number; dockerBytes: number}> = []
    for (let round = 0; round < ROUNDS; round++) {
      // Alternate who goes first, so caches and drift favour neither.
      const order = round % 2 === 0 ? ['tta', 'docker'] : ['docker', 'tta']
      const result = {tta: 0, docker: 0, ttaBytes: 0, dockerBytes: 0}
      for (const who of order) {
        if (who === 'tta') {
          const dir = join(out, `tta-${round}`)
          result.tta = sh(process.execPath, [tta, 'backup', 'postgres', '--dir', dir, '--max-age', 'none', ...flags], {env}).ms
          const id = readdirSync(dir).find((d) => /^\d{8}T/.test(d)) as string
          result.ttaBytes = statSync(join(dir, id, 'postgres.tta.pgdump')).size
          rmSync(dir, {recursive: true, force: true})
        } else {
          const file = join(out, `docker-${round}.pgdump`)
          result.docker = sh('docker', ['exec', container, 'pg_dump', '-Fc', '-U', 'tta', '-d', 'tta'], {stdoutFile: file}).ms
          result.dockerBytes = statSync(file).size
          rmSync(file, {force: true})
        }
      }
      rounds.push(result)
      process.stderr.write(`bench backup: round ${round + 1}: tta ${(result.tta / 1000).toFixed(2)} s, docker exec pg_dump ${(result.docker / 1000).toFixed(2)} s\n`)
    }
    const ttaMs = median(rounds.map((r) => r.tta))
    const dockerMs = median(rounds.map((r) => r.docker))
    const ratio = ttaMs / dockerMs
    const engine = `${conn.version} (API ${conn.apiVersion})`
    process.stdout.write(
      `database ${(size / 1e9).toFixed(2)} GB (${ROWS} rows); dump ${(rounds[0]?.ttaBytes ?? 0) / 1e6} MB\n` +
        `tta backup postgres       ${(ttaMs / 1000).toFixed(2)} s (median of ${ROUNDS})\n` +
        `docker exec pg_dump -Fc   ${(dockerMs / 1000).toFixed(2)} s (median of ${ROUNDS})\n` +
        `ratio ${ratio.toFixed(3)} (target <= 1.1)\n`,
    )
    mkdirSync(join(repo, 'bench/results'), {recursive: true})
    writeFileSync(
      join(repo, 'bench/results/backup.json'),
      JSON.stringify({date: new Date().toISOString(), engine, databaseBytes: size, rows: ROWS, rounds, ttaMedianMs: ttaMs, dockerExecMedianMs: dockerMs, ratio, target: 1.1}, null, 2) + '\n',
    )
    process.stdout.write(`engine ${engine}; written to bench/results/backup.json\n`)
  } finally {
    removeProject(project)
    rmSync(workspace, {recursive: true, force: true})
    rmSync(out, {recursive: true, force: true})
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench backup failed: ${(error as Error).message}\n`)
  process.exitCode = 1
})
