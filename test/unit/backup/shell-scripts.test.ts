// The backup strategies' shell scripts run in containers; here they run locally with sh, against a
// fake redis-cli and a fake data directory, to show that values reach them as arguments and are
// never parsed as shell: a port or a database name holding shell syntax stays inert text.
import {spawnSync} from 'node:child_process'
import {chmodSync, existsSync, mkdirSync, mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {LIST_DATABASES} from '../../../src/backup/strategies/neo4j.js'
import {rdbToStdout} from '../../../src/backup/strategies/redis.js'

function runArgv(argv: string[], cwd: string, path?: string): {code: number | null; stdout: string; stderr: string} {
  const [file, ...args] = argv
  const result = spawnSync(file as string, args, {cwd, encoding: 'utf8', env: {...process.env, PATH: path ?? process.env.PATH}})
  return {code: result.status, stdout: result.stdout, stderr: result.stderr}
}

describe('redis: the RDB through a temporary file (redis-cli < 7)', () => {
  it('passes redis-cli its arguments as they are; shell syntax in one is not run', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tta-rdbsh-'))
    const bin = join(dir, 'bin')
    mkdirSync(bin)
    // A redis-cli that writes its arguments, one a line, into the --rdb file.
    writeFileSync(join(bin, 'redis-cli'), '#!/bin/sh\nprev=\nfor a in "$@"; do [ "$prev" = --rdb ] && out=$a; prev=$a; done\nprintf "%s\\n" "$@" > "$out"\n')
    chmodSync(join(bin, 'redis-cli'), 0o755)
    const hostile = '6379; touch pwned; echo $(touch pwned2)'
    const argv = rdbToStdout(['redis-cli', '-h', '127.0.0.1', '-p', hostile], 6)
    expect(argv[0]).toBe('sh')
    const result = runArgv(argv, dir, `${bin}:${process.env.PATH ?? ''}`)
    expect(result.code, result.stderr).toBe(0)
    const lines = result.stdout.split('\n')
    expect(lines.slice(0, 5)).toEqual(['-h', '127.0.0.1', '-p', hostile, '--rdb'])
    expect(existsSync(join(dir, 'pwned'))).toBe(false)
    expect(existsSync(join(dir, 'pwned2'))).toBe(false)
  })

  it('streams straight to stdout on redis-cli 7, without a shell', () => {
    expect(rdbToStdout(['redis-cli', '-p', '6379'], 7)).toEqual(['redis-cli', '-p', '6379', '--rdb', '-'])
  })
})

describe('neo4j: listing the databases', () => {
  it('prints each database directory, names with shell syntax included, without running them', () => {
    const data = mkdtempSync(join(tmpdir(), 'tta-neo4jsh-'))
    for (const db of ['neo4j', 'system', '$(touch pwned)']) mkdirSync(join(data, 'databases', db), {recursive: true})
    writeFileSync(join(data, 'databases', 'store_lock'), '')
    // The same script, pointed at this directory instead of /data.
    expect(LIST_DATABASES.at(-1)).toBe('/data')
    const result = runArgv([...LIST_DATABASES.slice(0, -1), data], data)
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout.split('\n').filter(Boolean).sort()).toEqual(['$(touch pwned)', 'neo4j', 'system'])
    expect(existsSync(join(data, 'pwned'))).toBe(false)
  })
})
