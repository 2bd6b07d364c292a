import chalk from 'chalk'
import {beforeAll, describe, expect, it} from 'vitest'

import {backupProgress, rate} from '../../../src/ui/backup-progress.js'

describe('backup progress', () => {
  beforeAll(() => {
    chalk.level = 0
  })

  it('prints plain lines with bytes and rate, and groups skipped services at the end', () => {
    let out = ''
    const progress = backupProgress({verb: 'backing up', tty: false, write: (t) => (out += t)})
    progress.emit({type: 'service', service: 'api', phase: 'skipped', detail: 'no data'})
    progress.emit({type: 'service', service: 'web', phase: 'skipped', detail: 'no data'})
    progress.emit({type: 'service', service: 'postgres', phase: 'start', strategy: 'postgres'})
    progress.emit({type: 'progress', service: 'postgres', file: 'postgres.tta.pgdump', bytes: 50_000_000, elapsedMs: 2000})
    progress.emit({type: 'progress', service: 'postgres', file: 'postgres.tta.pgdump', bytes: 60_000_000, elapsedMs: 2100})
    progress.emit({type: 'service', service: 'postgres', phase: 'done', strategy: 'postgres', bytes: 100_000_000, elapsedMs: 4000})
    progress.emit({type: 'service', service: 'redis', phase: 'failed', detail: 'boom'})
    progress.finish()
    expect(out.split('\n')).toEqual([
      '› postgres: backing up (postgres)',
      '  postgres  postgres.tta.pgdump  50.0 MB  25.0 MB/s  2.0s',
      '✔ postgres: 100.0 MB in 4.0s, 25.0 MB/s',
      '✖ redis: boom',
      '- skipped api, web: no data',
      '',
    ])
  })

  it('redraws one live line on a terminal and clears it before the next message', () => {
    let out = ''
    const progress = backupProgress({verb: 'restoring', tty: true, write: (t) => (out += t)})
    progress.emit({type: 'progress', service: 'redis', file: 'redis.rdb', bytes: 1000, elapsedMs: 1000})
    progress.emit({type: 'note', service: 'redis', message: 'starting redis'})
    expect(out).toBe('\r\u001B[K  redis  redis.rdb  1.0 kB  1.0 kB/s  1.0s\r\u001B[K  redis: starting redis\n')
    expect(rate(0, 0)).toBe('')
  })
})
