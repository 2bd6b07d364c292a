import {posix} from 'node:path'
import {Transform, type TransformCallback} from 'node:stream'

import type {EnginePort} from '../../docker/port.js'
import type {KeyspaceCount, ServiceBackup} from '../manifest.js'
import {execStream, runOneOff} from '../streams.js'
import {startAndWait, stopContainer, type Target} from '../targets.js'
import {captureToFile, expectSuccess} from './common.js'
import {CheckFailed, StrategyError, type BackupOutcome, type RestoreContext, type Strategy} from './types.js'
import {redisOption, redisPassword} from '../../probes/redis-args.js'

/**
 * Redis: a consistent RDB streamed from the server itself (`redis-cli --rdb -`: Redis forks and
 * sends a point-in-time snapshot, as to a replica). Restore stops the server, puts the RDB where
 * the server will load it, and starts it: with `appendonly yes` that is the AOF directory
 * (Redis 7's multi-part AOF takes an RDB as its base file), else `dbfilename`. Checked by the
 * key count of every logical database.
 */

/** `INFO` output as key → value. */
export function parseInfo(text: string): Record<string, string> {
  const info: Record<string, string> = {}
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    const colon = line.indexOf(':')
    if (colon > 0) info[line.slice(0, colon)] = line.slice(colon + 1)
  }
  return info
}

/** `db0:keys=1000,expires=2,avg_ttl=0` lines as {db0: {keys: 1000, expires: 2}}. */
export function parseKeyspace(info: Record<string, string>): Record<string, KeyspaceCount> {
  const result: Record<string, KeyspaceCount> = {}
  for (const [key, value] of Object.entries(info)) {
    if (!/^db\d+$/.test(key)) continue
    const fields = Object.fromEntries(value.split(',').map((kv) => kv.split('=') as [string, string]))
    result[key] = {keys: Number(fields.keys ?? 0), expires: Number(fields.expires ?? 0)}
  }
  return result
}

/** Does the restored key count match? Keys with a TTL may have expired since the backup. */
export function keyspaceProblems(expected: Record<string, KeyspaceCount>, actual: Record<string, KeyspaceCount>, exact: boolean): string[] {
  const problems: string[] = []
  for (const db of new Set([...Object.keys(expected), ...Object.keys(actual)])) {
    const want = expected[db] ?? {keys: 0, expires: 0}
    const got = actual[db]?.keys ?? 0
    if (!exact) {
      if (want.keys > 0 && got === 0) problems.push(`${db} is empty, the backup had about ${want.keys} keys`)
      continue
    }
    if (got === want.keys || (got <= want.keys && got >= want.keys - want.expires)) continue
    problems.push(`${db} has ${got} keys, the backup had ${want.keys}`)
  }
  return problems
}

interface RedisAccess {
  cli: string[]
  env: string[]
}

function access(target: Target): RedisAccess {
  const port = redisOption(target.cmd, 'port') ?? '6379'
  // The server's own variable is enough for redis-cli; else the password it was started with.
  const password = target.env.REDISCLI_AUTH ? undefined : redisPassword({command: target.cmd, environment: target.env})
  return {cli: ['redis-cli', '-h', '127.0.0.1', '-p', port], env: password ? [`REDISCLI_AUTH=${password}`] : []}
}

/**
 * The command that writes the server's RDB to stdout. redis-cli < 7 cannot write it to stdout: it
 * goes through a temporary file, in a constant shell script that gets redis-cli's arguments as
 * positional parameters ("$@"), never spliced into its text.
 */
export function rdbToStdout(cli: string[], major: number): string[] {
  if (major >= 7) return [...cli, '--rdb', '-']
  return ['sh', '-c', 't=$(mktemp) && "$@" --rdb "$t" >&2 && cat "$t"; s=$?; rm -f "$t"; exit $s', 'sh', ...cli]
}

async function info(engine: Pick<EnginePort, 'exec'>, containerId: string, redis: RedisAccess, signal?: AbortSignal): Promise<Record<string, string>> {
  const result = expectSuccess(await execStream(engine, containerId, [...redis.cli, 'INFO'], {env: redis.env, signal}), 'redis-cli INFO')
  const parsed = parseInfo(result.stdout)
  if (!parsed.redis_version) throw new StrategyError(`redis-cli INFO: ${result.stdout.trim().split('\n')[0] || 'no answer'} (does the service set REDISCLI_AUTH or --requirepass?)`)
  return parsed
}

/**
 * `redis-cli --rdb -` (Redis 7) leaves the diskless-sync end mark (40 characters) after the
 * RDB: it can truncate a file but not stdout. An RDB ends with its EOF opcode (0xFF) and an
 * 8-byte checksum, so a tail of 0xFF, 8 bytes, 40 alphanumerics is that mark, and is dropped.
 */
export class RdbEndMarkStripper extends Transform {
  private held = Buffer.alloc(0)

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const all = this.held.length === 0 ? chunk : Buffer.concat([this.held, chunk])
    const keep = Math.min(49, all.length)
    this.held = Buffer.from(all.subarray(all.length - keep))
    callback(null, all.length > keep ? all.subarray(0, all.length - keep) : undefined)
  }

  override _flush(callback: TransformCallback): void {
    const mark = this.held.length === 49 && this.held[0] === 0xff && /^[0-9A-Za-z]{40}$/.test(this.held.subarray(9).toString('latin1'))
    callback(null, mark ? this.held.subarray(0, 9) : this.held)
  }
}

/** One CONFIG value; undefined when CONFIG is unavailable (renamed or disabled). */
async function configGet(engine: Pick<EnginePort, 'exec'>, containerId: string, redis: RedisAccess, key: string, signal?: AbortSignal): Promise<string | undefined> {
  const result = await execStream(engine, containerId, [...redis.cli, 'CONFIG', 'GET', key], {env: redis.env, signal})
  const lines = result.stdout.split('\n').map((l) => l.trim())
  return result.exitCode === 0 && lines[0] === key ? lines[1] : undefined
}

async function configSet(engine: Pick<EnginePort, 'exec'>, containerId: string, redis: RedisAccess, key: string, value: string, signal?: AbortSignal): Promise<void> {
  await execStream(engine, containerId, [...redis.cli, 'CONFIG', 'SET', key, value], {env: redis.env, signal}).catch(() => undefined)
}

/** Lets bytes through and remembers the first few, to check a file's magic. */
class Head extends Transform {
  head = Buffer.alloc(0)
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.head.length < 16) this.head = Buffer.concat([this.head, chunk.subarray(0, 16 - this.head.length)])
    callback(null, chunk)
  }
}

interface PersistenceConfig {
  dir: string
  dbfilename: string
  appendonly: boolean
  appenddirname: string
  appendfilename: string
}

/** Where the server keeps its data: asked from the running server, else read from its command line. */
async function persistenceConfig(ctx: RestoreContext, redis: RedisAccess): Promise<PersistenceConfig> {
  const {target} = ctx
  const fromCmd = (name: string, fallback: string): string => redisOption(target.cmd, name) ?? fallback
  let config: Record<string, string> = {}
  if (target.state === 'running') {
    const result = await execStream(ctx.engine, target.id, [...redis.cli, 'CONFIG', 'GET', '*'], {env: redis.env, signal: ctx.signal})
    const lines = result.stdout.split('\n').map((l) => l.replace(/\r$/, ''))
    if (result.exitCode === 0) for (let i = 0; i + 1 < lines.length; i += 2) config[lines[i] as string] = lines[i + 1] as string
    if (!config.dir) config = {}
  }
  const workdir = target.workingDir || '/data'
  const dir = config.dir ?? fromCmd('dir', workdir)
  return {
    dir: posix.isAbsolute(dir) ? dir : posix.join(workdir, dir),
    dbfilename: config.dbfilename ?? fromCmd('dbfilename', 'dump.rdb'),
    appendonly: (config.appendonly ?? fromCmd('appendonly', 'no')) === 'yes',
    appenddirname: config.appenddirname ?? fromCmd('appenddirname', 'appendonlydir'),
    appendfilename: config.appendfilename ?? fromCmd('appendfilename', 'appendonly.aof'),
  }
}

// Runs in a one-off container on the server's volumes, the RDB on stdin: checks it arrived whole
// (sha256), then moves it where the server loads it, owned like the data directory.
const PLACE_RDB = `set -eu
cd "$TTA_DIR"
tmp=.tta-restore.rdb
cat > "$tmp"
sum=$(sha256sum "$tmp" | cut -d' ' -f1)
if [ "$sum" != "$TTA_SHA256" ]; then rm -f "$tmp"; echo "restore input damaged in transit (sha256 $sum)" >&2; exit 1; fi
owner=$(stat -c %u:%g .)
if [ "$TTA_AOF" = yes ]; then
  rm -rf "$TTA_AOFDIR" "$TTA_AOFNAME" "$TTA_DBFILENAME"
  major=$(redis-server --version | sed -n 's/.* v=\\([0-9]*\\)\\..*/\\1/p')
  if [ "\${major:-7}" -ge 7 ]; then
    mkdir "$TTA_AOFDIR"
    mv "$tmp" "$TTA_AOFDIR/$TTA_AOFNAME.1.base.rdb"
    printf 'file %s seq 1 type b\\n' "$TTA_AOFNAME.1.base.rdb" > "$TTA_AOFDIR/$TTA_AOFNAME.manifest"
    chown -R "$owner" "$TTA_AOFDIR"
  else
    mv "$tmp" "$TTA_AOFNAME"
    chown "$owner" "$TTA_AOFNAME"
  fi
else
  mv "$tmp" "$TTA_DBFILENAME"
  chown "$owner" "$TTA_DBFILENAME"
fi
sync
`

// Runs in a throwaway container: loads the RDB into a private redis-server (no port, a unix
// socket) and prints its keyspace. A damaged RDB makes the server exit while loading. On
// Redis 7 it is loaded as an AOF base file, as a restore into `appendonly yes` does: stricter
// than a plain RDB load, which ignores trailing bytes.
const LOAD_RDB = `set -eu
d=$(mktemp -d)
major=$(redis-server --version | sed -n 's/.* v=\\([0-9]*\\)\\..*/\\1/p')
if [ "\${major:-7}" -ge 7 ]; then
  mkdir "$d/aof"
  cat > "$d/aof/a.aof.1.base.rdb"
  printf 'file a.aof.1.base.rdb seq 1 type b\\n' > "$d/aof/a.aof.manifest"
  set -- --appendonly yes --appenddirname aof --appendfilename a.aof
else
  cat > "$d/dump.rdb"
  set -- --appendonly no --dbfilename dump.rdb
fi
redis-server --dir "$d" "$@" --save '' --port 0 --unixsocket "$d/r.sock" --daemonize yes --pidfile "$d/pid" --logfile "$d/log"
i=0
until [ "$(redis-cli -s "$d/r.sock" PING 2>/dev/null)" = PONG ]; do
  i=$((i + 1))
  if [ "$i" -gt 50 ] && { [ ! -f "$d/pid" ] || ! kill -0 "$(cat "$d/pid")" 2>/dev/null; }; then tail -n 5 "$d/log" >&2; exit 1; fi
  if [ "$i" -gt 1200 ]; then echo "redis did not load the RDB within 120 s" >&2; exit 1; fi
  sleep 0.1
done
redis-cli -s "$d/r.sock" INFO keyspace
redis-cli -s "$d/r.sock" SHUTDOWN NOSAVE >/dev/null 2>&1 || true
`

export const redisStrategy: Strategy = {
  name: 'redis',

  async backup(ctx): Promise<BackupOutcome> {
    const {engine, target} = ctx
    const redis = access(target)
    const before = await info(engine, target.id, redis, ctx.signal)
    const major = Number((before.redis_version ?? '0').split('.')[0])
    const name = ctx.fileName(`${target.service}.rdb`)
    const head = new Head()
    // redis-cli < 7 cannot write the RDB to stdout: it goes through a temporary file in the container.
    const cmd = rdbToStdout(redis.cli, major)
    // A diskless sync waits repl-diskless-sync-delay (5 s by default) for more replicas to join:
    // lifted for the dump, then put back.
    const delay = await configGet(engine, target.id, redis, 'repl-diskless-sync-delay', ctx.signal)
    if (delay && delay !== '0') await configSet(engine, target.id, redis, 'repl-diskless-sync-delay', '0', ctx.signal)
    let captured
    try {
      captured = await captureToFile(ctx, name, 'redis-cli --rdb', (stdout) => execStream(engine, target.id, cmd, {stdout, env: redis.env, signal: ctx.signal, stopWithClient: true}), {
        before: new RdbEndMarkStripper(),
        through: head,
        validate: () => (head.head.subarray(0, 5).toString('latin1') === 'REDIS' ? undefined : 'redis-cli --rdb did not produce an RDB file'),
      })
    } finally {
      if (delay && delay !== '0') await configSet(engine, target.id, redis, 'repl-diskless-sync-delay', delay)
    }
    const after = await info(engine, target.id, redis, ctx.signal)
    const keyspace = parseKeyspace(after)
    return {
      serverVersion: before.redis_version ?? null,
      files: [{file: captured.file, bytes: captured.bytes, sha256: captured.sha256}],
      keyspace,
      keyspaceExact: JSON.stringify(parseKeyspace(before)) === JSON.stringify(keyspace),
    }
  },

  async restore(ctx, entry: ServiceBackup): Promise<void> {
    const file = entry.files[0]
    if (!file) throw new StrategyError('the backup has no RDB file')
    const config = await persistenceConfig(ctx, access(ctx.target))
    ctx.note(`stopping ${ctx.target.service}`)
    await stopContainer(ctx.engine, ctx.target.id)
    const placed = await runOneOff(
      ctx.engine,
      {
        project: ctx.project,
        service: ctx.target.service,
        purpose: 'restore',
        image: ctx.target.image,
        entrypoint: ['sh', '-c', PLACE_RDB],
        cmd: [],
        user: '0',
        volumesFrom: ctx.target.id,
        env: [
          `TTA_DIR=${config.dir}`,
          `TTA_SHA256=${file.sha256}`,
          `TTA_AOF=${config.appendonly ? 'yes' : 'no'}`,
          `TTA_AOFDIR=${config.appenddirname}`,
          `TTA_AOFNAME=${config.appendfilename}`,
          `TTA_DBFILENAME=${config.dbfilename}`,
        ],
      },
      {stdin: ctx.open(file), signal: ctx.signal},
    )
    expectSuccess(placed, 'placing the RDB in the volume')
    ctx.note(`starting ${ctx.target.service}`)
    await startAndWait(ctx.engine, ctx.target, ctx.readyTimeoutMs, ctx.signal)
  },

  async check(ctx, entry): Promise<string> {
    const actual = parseKeyspace(await info(ctx.engine, ctx.target.id, access(ctx.target), ctx.signal))
    return compare(entry, actual)
  },

  async verify(ctx, entry): Promise<string> {
    const file = entry.files[0]
    if (!file) throw new StrategyError('the backup has no RDB file')
    const result = await runOneOff(
      ctx.engine,
      {project: ctx.project, service: ctx.target.service, purpose: 'verify', image: entry.image, entrypoint: ['sh', '-c', LOAD_RDB], cmd: [], removeVolumes: true},
      {stdin: ctx.open(file), signal: ctx.signal},
    )
    expectSuccess(result, 'loading the RDB into a throwaway redis')
    return `loaded into a throwaway ${entry.image}: ${compare(entry, parseKeyspace(parseInfo(result.stdout)))}`
  },
}

function compare(entry: ServiceBackup, actual: Record<string, KeyspaceCount>): string {
  const expected = entry.keyspace ?? {}
  const problems = keyspaceProblems(expected, actual, entry.keyspaceExact !== false)
  if (problems.length > 0) throw new CheckFailed(problems.join('; '))
  const total = Object.values(actual).reduce((a, k) => a + k.keys, 0)
  return `${total} keys in ${Object.keys(actual).length} database(s) match`
}
