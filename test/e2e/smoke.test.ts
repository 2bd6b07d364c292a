// Smoke test of the rig itself: the stand-in redis and postgres images start like the official ones
// and answer on ports published on 127.0.0.1, over their real wire protocols.
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {
  cleanupProject,
  docker,
  dockerExec,
  freePort,
  PROJECT_LABEL,
  redisCommands,
  RespError,
  standinImage,
  tcpExchange,
  uniqueProject,
  waitFor,
} from './helpers.js'

const project = uniqueProject('smoke')
const redisPassword = 'smoke-redis-pw'
const pg = {user: 'smoke', password: 'smoke-pg-pw', db: 'smokedb'}

let redisPort = 0
let pgPort = 0
let redisName = ''
let pgName = ''

async function runContainer(
  service: string,
  image: string,
  ports: {host: number; container: number},
  opts: {runArgs?: string[]; command?: string[]} = {},
): Promise<string> {
  const name = `${project}-${service}-1`
  await docker([
    'run', '-d', '--name', name,
    '--label', `${PROJECT_LABEL}=${project}`,
    '--label', `com.docker.compose.service=${service}`,
    '-p', `127.0.0.1:${ports.host}:${ports.container}`,
    ...(opts.runArgs ?? []),
    image,
    ...(opts.command ?? []),
  ])
  return name
}

/** PostgreSQL wire messages built by hand: SSLRequest and a protocol 3.0 StartupMessage. */
function sslRequest(): Buffer {
  const msg = Buffer.alloc(8)
  msg.writeInt32BE(8, 0)
  msg.writeInt32BE(80877103, 4)
  return msg
}

function startupMessage(params: Record<string, string>): Buffer {
  const body = Buffer.from(`${Object.entries(params).map(([k, v]) => `${k}\0${v}\0`).join('')}\0`)
  const msg = Buffer.alloc(8 + body.length)
  msg.writeInt32BE(msg.length, 0)
  msg.writeInt32BE(196608, 4)
  body.copy(msg, 8)
  return msg
}

describe('stand-in images (smoke)', () => {
  beforeAll(async () => {
    redisPort = await freePort()
    pgPort = await freePort()
    redisName = await runContainer('redis', standinImage('redis'), {host: redisPort, container: 6379}, {
      command: ['redis-server', '--requirepass', redisPassword],
    })
    pgName = await runContainer('postgres', standinImage('postgres'), {host: pgPort, container: 5432}, {
      runArgs: ['-e', `POSTGRES_USER=${pg.user}`, '-e', `POSTGRES_PASSWORD=${pg.password}`, '-e', `POSTGRES_DB=${pg.db}`],
    })
  })

  afterAll(async () => {
    await cleanupProject(project)
  })

  it('redis answers PING over the published port, only after AUTH', async () => {
    const replies = await waitFor(
      () => redisCommands(redisPort, [['PING'], ['AUTH', redisPassword], ['PING']]),
      {timeoutMs: 30_000, intervalMs: 100, description: `redis on 127.0.0.1:${redisPort}`},
    )
    expect(replies[0]).toBeInstanceOf(RespError)
    expect((replies[0] as RespError).message).toMatch(/^NOAUTH/)
    expect(replies[1]).toBe('OK')
    expect(replies[2]).toBe('PONG')

    const wrong = await redisCommands(redisPort, [['AUTH', 'not-the-password']])
    expect(wrong[0]).toBeInstanceOf(RespError)

    // redis-cli is on PATH in the container, like in the official image.
    const cli = await dockerExec(redisName, ['redis-cli', '-a', redisPassword, '--no-auth-warning', 'PING'])
    expect(cli.stdout.trim()).toBe('PONG')
  })

  it('postgres initialises from POSTGRES_* and serves psql, pg_isready and TCP', async () => {
    await waitFor(
      async () => (await dockerExec(pgName, ['pg_isready', '-h', '127.0.0.1', '-U', pg.user, '-d', pg.db])).code === 0,
      {timeoutMs: 90_000, intervalMs: 250, description: 'pg_isready over TCP inside the container'},
    )
    const psql = await dockerExec(pgName, [
      'psql', '-U', pg.user, '-d', pg.db, '-tAc', 'SELECT current_user || \' \' || current_database()',
    ])
    expect(psql.stderr).toBe('')
    expect(psql.stdout.trim()).toBe(`${pg.user} ${pg.db}`)

    // The client tools a backup needs are on PATH.
    const tools = await dockerExec(pgName, ['sh', '-c', 'for t in pg_dump pg_restore psql pg_isready; do command -v $t; done'])
    expect(tools.code).toBe(0)
    expect(tools.stdout.trim().split('\n')).toHaveLength(4)

    // Over the published port: no TLS, and password (SCRAM) authentication is demanded.
    const ssl = await tcpExchange(pgPort, sslRequest(), (d) => d.length >= 1)
    expect(['N', 'S']).toContain(String.fromCharCode(ssl[0] ?? 0))

    const auth = await tcpExchange(
      pgPort,
      startupMessage({user: pg.user, database: pg.db}),
      (d) => d.length >= 5 && d.length >= 1 + d.readInt32BE(1),
    )
    expect(String.fromCharCode(auth[0] ?? 0)).toBe('R')
    expect(auth.readInt32BE(5)).toBe(10) // AuthenticationSASL
    expect(auth.toString('latin1')).toContain('SCRAM-SHA-256')
  })
})
