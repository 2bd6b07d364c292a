import {Readable, type Duplex} from 'node:stream'

import type {EnginePort} from '../../docker/port.js'
import {safeComponent, type BackupFile, type ServiceBackup} from '../manifest.js'
import {DockerDemux, execStream, InterruptedError, lastLines, startThrowaway} from '../streams.js'
import {captureToFile, expectSuccess, randomSecret, sleep} from './common.js'
import {CheckFailed, StrategyError, type BackupContext, type BackupOutcome, type Strategy} from './types.js'

/**
 * PostgreSQL: `pg_dump -Fc` per database, run inside the service's own container (its pg_dump
 * matches its server) and streamed to the host. Row counts are taken in the same snapshot as
 * the dump (exported by a psql session, imported by pg_dump), so the check after a restore
 * compares like with like even when the database was written to during the backup. Restore
 * drops and recreates each database from the dump (`pg_restore --create`), so it is exactly
 * what was dumped; other databases are left alone.
 */

const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`
const quoteLiteral = (text: string): string => `'${text.replace(/'/g, "''")}'`

/** Rows per ordinary table, one JSON line each (names can hold anything); extension-owned tables come back with their extension. */
const COUNT_ROWS_SQL = `SELECT format('SELECT json_build_array(%L, count(*))::text FROM %I.%I', n.nspname || '.' || c.relname, n.nspname, c.relname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY 1 \\gexec
`

export function parseRowCounts(output: string): Record<string, number> {
  const rows: Record<string, number> = {}
  for (const line of output.split('\n')) {
    if (!line.startsWith('[')) continue
    const [table, count] = JSON.parse(line) as [string, number]
    rows[table] = Number(count)
  }
  return rows
}

interface PgAccess {
  user: string
  env: string[]
}

function access(env: Record<string, string>, user?: string): PgAccess {
  const password = env.POSTGRES_PASSWORD
  // Local socket connections are trusted in the official image; the password covers images where they are not.
  return {user: user ?? env.POSTGRES_USER ?? 'postgres', env: password ? [`PGPASSWORD=${password}`] : []}
}

const psql = (pg: PgAccess, db: string): string[] => ['psql', '-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-U', pg.user, '-d', db]

async function query(engine: Pick<EnginePort, 'exec'>, containerId: string, pg: PgAccess, db: string, sql: string, signal?: AbortSignal): Promise<string> {
  const result = await execStream(engine, containerId, psql(pg, db), {stdin: Readable.from([sql]), env: pg.env, signal})
  return expectSuccess(result, `psql on ${db}`).stdout
}

/** An interactive psql (stdin kept open) whose output is read line by line, up to markers it echoes. */
class PsqlSession {
  private lines: string[] = []
  private partial = ''
  private ended = false
  private notify: () => void = () => undefined

  private constructor(
    private readonly socket: Duplex,
    private readonly demux: DockerDemux,
  ) {
    demux.on('data', (chunk: Buffer) => {
      const text = this.partial + chunk.toString('utf8')
      const parts = text.split('\n')
      this.partial = parts.pop() ?? ''
      this.lines.push(...parts)
      this.notify()
    })
    const end = (): void => {
      this.ended = true
      this.notify()
    }
    demux.on('end', end)
    demux.on('close', end)
    socket.on('error', end)
  }

  static async open(engine: Pick<EnginePort, 'exec'>, containerId: string, pg: PgAccess, db: string): Promise<PsqlSession> {
    const execId = await engine.exec.create(containerId, {Cmd: psql(pg, db), AttachStdin: true, Env: pg.env})
    const socket = await engine.exec.start(execId, {stdin: true})
    const demux = new DockerDemux()
    socket.pipe(demux)
    return new PsqlSession(socket, demux)
  }

  send(text: string): void {
    this.socket.write(text)
  }

  /** Lines printed before `marker`; fails if psql ends first (an SQL error stops it: ON_ERROR_STOP). */
  async until(marker: string, signal?: AbortSignal): Promise<string[]> {
    const onAbort = (): void => this.notify()
    signal?.addEventListener('abort', onAbort, {once: true})
    try {
      for (;;) {
        const at = this.lines.indexOf(marker)
        if (at >= 0) return this.lines.splice(0, at + 1).slice(0, -1)
        if (this.ended) throw new StrategyError(`psql ended early: ${lastLines(this.demux.stderr) || 'no error output'}`)
        if (signal?.aborted) throw new InterruptedError()
        await new Promise<void>((resolve) => {
          this.notify = resolve
        })
      }
    } finally {
      signal?.removeEventListener('abort', onAbort)
    }
  }

  async close(): Promise<void> {
    if (!this.ended) this.socket.end('COMMIT;\n\\q\n')
    const deadline = Date.now() + 10_000
    while (!this.ended && Date.now() < deadline) await sleep(20)
    this.socket.destroy()
  }
}

async function serverInfo(engine: Pick<EnginePort, 'exec'>, containerId: string, pg: PgAccess, signal?: AbortSignal): Promise<{version: string; versionNum: number; databases: string[]}> {
  const out = await query(
    engine,
    containerId,
    pg,
    'postgres',
    `SELECT 'v:' || current_setting('server_version'); SELECT 'n:' || current_setting('server_version_num');
SELECT 'd:' || datname FROM pg_database WHERE NOT datistemplate AND datallowconn ORDER BY datname;
SELECT 'o:' || count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%';`,
    signal,
  )
  const lines = out.split('\n')
  // The maintenance database `postgres` is only worth dumping when someone put something in it.
  const postgresEmpty = (lines.find((l) => l.startsWith('o:')) ?? 'o:1') === 'o:0'
  return {
    version: (lines.find((l) => l.startsWith('v:')) ?? 'v:?').slice(2).split(' ')[0] ?? '?',
    versionNum: Number((lines.find((l) => l.startsWith('n:')) ?? 'n:0').slice(2)),
    databases: lines.filter((l) => l.startsWith('d:')).map((l) => l.slice(2)).filter((db) => !(db === 'postgres' && postgresEmpty)),
  }
}

async function dumpDatabase(ctx: BackupContext, pg: PgAccess, db: string): Promise<BackupFile> {
  const session = await PsqlSession.open(ctx.engine, ctx.target.id, pg, db)
  try {
    session.send(`SET lock_timeout = '60s';\nBEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;\nSELECT 'snapshot:' || pg_export_snapshot();\n\\echo tta:snapshot\n`)
    const snapshot = (await session.until('tta:snapshot', ctx.signal)).find((l) => l.startsWith('snapshot:'))?.slice('snapshot:'.length)
    if (!snapshot) throw new StrategyError(`could not export a snapshot of database ${db}`)
    const name = ctx.fileName(`${ctx.target.service}.${safeComponent(db)}.pgdump`)
    const dumping = captureToFile(ctx, name, `pg_dump of ${db}`, (stdout) =>
      execStream(ctx.engine, ctx.target.id, ['pg_dump', '-Fc', '--lock-wait-timeout=60000', `--snapshot=${snapshot}`, '-U', pg.user, '-d', db], {stdout, env: pg.env, signal: ctx.signal, stopWithClient: true}),
    )
    // Counted in the exported snapshot while pg_dump reads it.
    session.send(`${COUNT_ROWS_SQL}\\echo tta:counts\n`)
    const counting = session.until('tta:counts', ctx.signal)
    counting.catch(() => undefined)
    const captured = await dumping
    const rows = parseRowCounts((await counting).join('\n'))
    return {file: captured.file, bytes: captured.bytes, sha256: captured.sha256, database: db, rows}
  } finally {
    await session.close()
  }
}

/** Drops the database (closing its connections) and recreates it from the dump. */
async function restoreDatabase(engine: Pick<EnginePort, 'exec'>, containerId: string, pg: PgAccess, versionNum: number, db: string, source: Readable, signal?: AbortSignal): Promise<void> {
  const drop =
    versionNum >= 130_000
      ? ['-c', `DROP DATABASE IF EXISTS ${quoteIdent(db)} WITH (FORCE)`]
      : ['-c', `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ${quoteLiteral(db)} AND pid <> pg_backend_pid()`, '-c', `DROP DATABASE IF EXISTS ${quoteIdent(db)}`]
  // template1 always exists, and the dump recreates from template0, so nothing competes for it.
  expectSuccess(await execStream(engine, containerId, [...psql(pg, 'template1'), ...drop], {env: pg.env, signal}), `dropping database ${db}`)
  const restored = await execStream(engine, containerId, ['pg_restore', '--create', '--exit-on-error', '-U', pg.user, '-d', 'template1'], {stdin: source, env: pg.env, signal})
  expectSuccess(restored, `pg_restore of ${db}`)
}

async function compareRows(engine: Pick<EnginePort, 'exec'>, containerId: string, pg: PgAccess, file: BackupFile, signal?: AbortSignal): Promise<string> {
  const db = file.database ?? ''
  const now = parseRowCounts(await query(engine, containerId, pg, db, COUNT_ROWS_SQL, signal))
  const expected = file.rows ?? {}
  const problems: string[] = []
  for (const [table, rows] of Object.entries(expected)) {
    if (now[table] === undefined) problems.push(`${db}: table ${table} missing`)
    else if (now[table] !== rows) problems.push(`${db}: ${table} has ${now[table]} rows, the backup had ${rows}`)
  }
  for (const table of Object.keys(now)) if (expected[table] === undefined) problems.push(`${db}: unexpected table ${table}`)
  if (problems.length > 0) throw new CheckFailed(problems.slice(0, 5).join('; '))
  const total = Object.values(expected).reduce((a, b) => a + b, 0)
  return `${db}: ${Object.keys(expected).length} tables, ${total} rows match`
}

export const postgresStrategy: Strategy = {
  name: 'postgres',

  async backup(ctx): Promise<BackupOutcome> {
    const pg = access(ctx.target.env)
    const info = await serverInfo(ctx.engine, ctx.target.id, pg, ctx.signal)
    if (info.databases.length === 0) throw new StrategyError('no databases to dump')
    const files: BackupFile[] = []
    for (const db of info.databases) files.push(await dumpDatabase(ctx, pg, db))
    return {serverVersion: info.version, files, user: pg.user}
  },

  async restore(ctx, entry: ServiceBackup): Promise<void> {
    const pg = access(ctx.target.env, entry.user)
    const info = await serverInfo(ctx.engine, ctx.target.id, pg, ctx.signal)
    for (const file of entry.files) {
      ctx.note(`restoring database ${file.database}`)
      await restoreDatabase(ctx.engine, ctx.target.id, pg, info.versionNum, file.database ?? '', ctx.open(file), ctx.signal)
    }
  },

  async check(ctx, entry): Promise<string> {
    const pg = access(ctx.target.env, entry.user)
    const results: string[] = []
    for (const file of entry.files) results.push(await compareRows(ctx.engine, ctx.target.id, pg, file, ctx.signal))
    return results.join('; ')
  },

  async verify(ctx, entry): Promise<string> {
    const pg: PgAccess = {user: entry.user ?? 'postgres', env: []}
    const containerId = await startThrowaway(ctx.engine, {
      project: ctx.project,
      service: ctx.target.service,
      purpose: 'verify',
      image: entry.image,
      env: [`POSTGRES_USER=${pg.user}`, `POSTGRES_PASSWORD=${randomSecret()}`, 'POSTGRES_DB=postgres'],
      removeVolumes: true,
    })
    try {
      await waitPostgres(ctx.engine, containerId, pg, ctx.readyTimeoutMs, ctx.signal)
      const info = await serverInfo(ctx.engine, containerId, pg, ctx.signal)
      const results: string[] = []
      for (const file of entry.files) {
        await restoreDatabase(ctx.engine, containerId, pg, info.versionNum, file.database ?? '', ctx.open(file), ctx.signal)
        results.push(await compareRows(ctx.engine, containerId, pg, file, ctx.signal))
      }
      return `loaded into a throwaway ${entry.image}: ${results.join('; ')}`
    } finally {
      await ctx.engine.containers.remove(containerId, {force: true, volumes: true}).catch(() => undefined)
    }
  },
}

/** A fresh server is ready once it accepts TCP on 127.0.0.1 (its first-boot init server is socket-only). */
async function waitPostgres(engine: Pick<EnginePort, 'containers' | 'exec'>, containerId: string, pg: PgAccess, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const state = (await engine.containers.inspect(containerId)).State
    if (!state.Running) throw new StrategyError(`the throwaway postgres exited (code ${state.ExitCode}) before it was ready`)
    const probe = await execStream(engine, containerId, ['pg_isready', '-h', '127.0.0.1', '-U', pg.user, '-d', 'postgres'], {signal})
    if (probe.exitCode === 0) return
    if (Date.now() > deadline) throw new StrategyError(`the throwaway postgres was not ready within ${Math.round(timeoutMs / 1000)} s`)
    await sleep(200)
  }
}
