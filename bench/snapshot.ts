// bench/snapshot: what the automatic safety snapshot adds to `tta clean --volumes -y` on the fixture
// datastores (postgres with 10 000 rows, redis with 1 000 keys, as in the backup e2e test). Each
// round brings the stack up and fills it (not timed), then times `clean --volumes -y --no-snapshot`
// and, on a fresh fill, `clean --volumes -y` (with the snapshot); who goes first alternates. Target
// (issue 21): the snapshot adds <= 2 s. Writes bench/results/snapshot.json.
//
//   npx tsx bench/snapshot.ts          (needs the engine, the built CLI and the stand-ins)
//   BENCH_ROUNDS=5 npx tsx bench/snapshot.ts
import {spawnSync} from 'node:child_process'
import {cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

import {engineVersion, freePort, median, printTable, removeProject} from './lib.js'

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const tta = join(repo, 'bin', 'run.js')
const ROUNDS = Math.max(5, Number(process.env.BENCH_ROUNDS ?? 7))
const TARGET_MS = 2000

function sh(command: string, args: string[], env: Record<string, string> = {}): number {
  const t0 = performance.now()
  const result = spawnSync(command, args, {env: {...process.env, ...env, NO_COLOR: '1'}, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000})
  const ms = performance.now() - t0
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${result.status}:\n${(result.stderr ?? '').slice(-2000)}`)
  return ms
}

async function main(): Promise<void> {
  const project = `tta-bench-snap-${Date.now().toString(36)}`
  const workspace = mkdtempSync(join(tmpdir(), 'tta-bench-ws-'))
  cpSync(join(repo, 'test/fixtures/workspace'), workspace, {recursive: true})
  const env = {TTA_POSTGRES_PORT: String(await freePort()), TTA_REDIS_PORT: String(await freePort())}
  const flags = ['--workspace', workspace, '--project-name', project]
  const psql = (sql: string): number => sh('docker', ['exec', `${project}-postgres-1`, 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-U', 'tta', '-d', 'tta', '-c', sql])
  const fill = (): void => {
    sh(process.execPath, [tta, 'dev', 'redis', 'postgres', ...flags], env)
    psql("CREATE TABLE items AS SELECT g AS id, 'item-' || md5(g::text) AS name, (g % 997) / 7.0 AS price FROM generate_series(1, 10000) g")
    // redis-cli reads the password from REDISCLI_AUTH; the keys go in with one EVAL.
    const password = /^TTA_REDIS_PASSWORD=(.*)$/m.exec(spawnSync('cat', [join(workspace, '.env')], {encoding: 'utf8'}).stdout)?.[1] ?? ''
    sh('docker', ['exec', '-e', `REDISCLI_AUTH=${password}`, `${project}-redis-1`, 'redis-cli', 'EVAL', "for i=1,1000 do redis.call('SET', 'session:'..i, 'user-'..i) end return 1", '0'])
  }
  const rounds: Array<{withSnapshotMs: number; withoutMs: number}> = []
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? (['without', 'with'] as const) : (['with', 'without'] as const)
      const result = {withSnapshotMs: 0, withoutMs: 0}
      for (const which of order) {
        fill()
        const ms = sh(process.execPath, [tta, 'clean', '--volumes', '-y', ...(which === 'without' ? ['--no-snapshot'] : []), ...flags], env)
        if (which === 'with') result.withSnapshotMs = ms
        else result.withoutMs = ms
      }
      rounds.push(result)
      process.stderr.write(`bench snapshot: round ${round + 1}: clean --volumes ${(result.withoutMs / 1000).toFixed(2)} s, with auto snapshot ${(result.withSnapshotMs / 1000).toFixed(2)} s\n`)
    }
    const added = rounds.map((r) => r.withSnapshotMs - r.withoutMs)
    const stats = (values: number[]): string[] => [Math.min(...values), median(values), Math.max(...values)].map((ms) => `${(ms / 1000).toFixed(2)} s`)
    printTable(
      ['', 'MIN', 'MEDIAN', 'MAX'],
      [
        ['clean --volumes -y --no-snapshot', ...stats(rounds.map((r) => r.withoutMs))],
        ['clean --volumes -y (auto snapshot)', ...stats(rounds.map((r) => r.withSnapshotMs))],
        ['added by the snapshot (per round)', ...stats(added)],
      ],
    )
    const addedMedianMs = median(added)
    // The machine is shared: also the difference of the medians, less swayed by one slow clean.
    const mediansDifferenceMs = median(rounds.map((r) => r.withSnapshotMs)) - median(rounds.map((r) => r.withoutMs))
    const engine = engineVersion()
    process.stdout.write(
      `snapshot adds ${(addedMedianMs / 1000).toFixed(2)} s (median of ${ROUNDS} per-round differences), ${(mediansDifferenceMs / 1000).toFixed(2)} s (difference of the medians); target <= ${TARGET_MS / 1000} s; engine ${engine}\n`,
    )
    mkdirSync(join(repo, 'bench/results'), {recursive: true})
    writeFileSync(
      join(repo, 'bench/results/snapshot.json'),
      JSON.stringify({date: new Date().toISOString(), engine, data: {postgresRows: 10000, redisKeys: 1000}, rounds, addedMs: {min: Math.min(...added), median: addedMedianMs, max: Math.max(...added)}, mediansDifferenceMs, targetMs: TARGET_MS}, null, 2) + '\n',
    )
  } finally {
    removeProject(project)
    rmSync(workspace, {recursive: true, force: true})
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench snapshot failed: ${(error as Error).message}\n`)
  process.exitCode = 1
})
