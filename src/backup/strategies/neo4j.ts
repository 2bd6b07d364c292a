import type {BackupFile, ServiceBackup} from '../manifest.js'
import {execStream, runOneOff, type OneOffSpec} from '../streams.js'
import {startAndWait, stopContainer} from '../targets.js'
import {captureToFile, expectSuccess} from './common.js'
import {CheckFailed, StrategyError, type BackupContext, type BackupOutcome, type RestoreContext, type Strategy} from './types.js'
import {safeComponent} from '../manifest.js'

/**
 * Neo4j Community cannot dump a running database: the server is stopped, each database is
 * dumped by `neo4j-admin database dump --to-stdout` in a one-off container of the same image on
 * the same volumes (through the image's entrypoint, which prepares the configuration), and the
 * server is started again, whatever happened. Restore loads each dump the same way with
 * `--overwrite-destination`.
 */

const DATA_DIR = '/data'

function oneOff(ctx: BackupContext | RestoreContext, purpose: string, cmd: string[]): OneOffSpec {
  return {
    project: ctx.project,
    service: ctx.target.service,
    purpose,
    image: ctx.target.image,
    cmd,
    // The server's own settings (NEO4J_* variables) shape neo4j-admin's configuration too.
    env: Object.entries(ctx.target.env).map(([k, v]) => `${k}=${v}`),
    volumesFrom: ctx.target.id,
  }
}

/** Database directories under the data directory: a constant script, the directory as "$1". */
export const LIST_DATABASES = ['sh', '-c', 'for d in "$1"/databases/*/; do [ -d "$d" ] && basename "$d"; done; true', 'sh', DATA_DIR]

async function databases(ctx: BackupContext | RestoreContext): Promise<string[]> {
  const listed = await runOneOff(ctx.engine, {...oneOff(ctx, 'backup', LIST_DATABASES), entrypoint: []}, {signal: ctx.signal})
  expectSuccess(listed, 'listing the neo4j databases')
  return listed.stdout.split('\n').map((l) => l.trim()).filter(Boolean).sort()
}

export const neo4jStrategy: Strategy = {
  name: 'neo4j',

  async backup(ctx): Promise<BackupOutcome> {
    const version = await execStream(ctx.engine, ctx.target.id, ['neo4j-admin', '--version'], {signal: ctx.signal}).catch(() => undefined)
    const wasRunning = ctx.target.state === 'running'
    ctx.note(`stopping ${ctx.target.service} for its dump (Neo4j Community cannot dump online)`)
    await stopContainer(ctx.engine, ctx.target.id)
    try {
      const names = await databases(ctx)
      if (names.length === 0) throw new StrategyError(`no databases under ${DATA_DIR}/databases`)
      const files: BackupFile[] = []
      for (const db of names) {
        const name = ctx.fileName(`${ctx.target.service}.${safeComponent(db)}.dump`)
        const captured = await captureToFile(ctx, name, `neo4j-admin database dump ${db}`, (stdout) =>
          runOneOff(ctx.engine, oneOff(ctx, 'backup', ['neo4j-admin', 'database', 'dump', db, '--to-stdout']), {stdout, signal: ctx.signal}),
        )
        files.push({file: captured.file, bytes: captured.bytes, sha256: captured.sha256, database: db})
      }
      return {serverVersion: version?.exitCode === 0 ? version.stdout.trim().split(/\s+/).pop() ?? null : null, files}
    } finally {
      if (wasRunning) {
        ctx.note(`starting ${ctx.target.service} again`)
        // Not bound to the abort signal: an interrupted backup must still leave neo4j running.
        await startAndWait(ctx.engine, ctx.target, ctx.readyTimeoutMs)
      }
    }
  },

  async restore(ctx, entry: ServiceBackup): Promise<void> {
    ctx.note(`stopping ${ctx.target.service}`)
    await stopContainer(ctx.engine, ctx.target.id)
    for (const file of entry.files) {
      ctx.note(`loading database ${file.database}`)
      const loaded = await runOneOff(ctx.engine, oneOff(ctx, 'restore', ['neo4j-admin', 'database', 'load', file.database ?? '', '--from-stdin', '--overwrite-destination=true']), {
        stdin: ctx.open(file),
        signal: ctx.signal,
      })
      expectSuccess(loaded, `neo4j-admin database load ${file.database}`)
    }
    ctx.note(`starting ${ctx.target.service}`)
    await startAndWait(ctx.engine, ctx.target, ctx.readyTimeoutMs, ctx.signal)
  },

  async check(ctx, entry): Promise<string> {
    const listed = await execStream(ctx.engine, ctx.target.id, ['ls', `${DATA_DIR}/databases`], {signal: ctx.signal})
    const present = new Set(expectSuccess(listed, 'listing the neo4j databases').stdout.split(/\s+/).filter(Boolean))
    const missing = entry.files.map((f) => f.database ?? '').filter((db) => !present.has(db))
    if (missing.length > 0) throw new CheckFailed(`database(s) missing after the load: ${missing.join(', ')}`)
    return `${entry.files.length} database(s) loaded, ${ctx.target.service} ready`
  },

  async verify(ctx, entry): Promise<string> {
    for (const file of entry.files) {
      const loaded = await runOneOff(
        ctx.engine,
        {
          project: ctx.project,
          service: ctx.target.service,
          purpose: 'verify',
          image: entry.image,
          cmd: ['neo4j-admin', 'database', 'load', file.database ?? '', '--from-stdin', '--overwrite-destination=true'],
          removeVolumes: true,
        },
        {stdin: ctx.open(file), signal: ctx.signal},
      )
      expectSuccess(loaded, `loading ${file.database} into a throwaway ${entry.image}`)
    }
    return `${entry.files.length} database(s) loaded into a throwaway ${entry.image}`
  },
}
