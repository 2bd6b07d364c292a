import {describe, expect, it} from 'vitest'

import {fastStatus} from '../../../src/cli/fast-status.js'

describe('fastStatus hands everything but a plain one-shot status to oclif', () => {
  // Each of these returns before touching the workspace or the engine (none is reachable here).
  const handedOver = [
    ['--help'],
    ['-h'],
    ['--watch'],
    ['-w'],
    ['--serve', '9464'],
    ['--metrics'],
    ['--secrets'],
    ['--bogus'],
    ['--timeout', '0'],
    ['--timeout', 'soon'],
    ['--timeout', '500'],
    ['--json', '--', 'redis'],
    ['--stats', '--no-stats'],
    ['--workspace'],
    ['--project-name', '--json'],
    ['redis', '-x'],
  ]
  for (const argv of handedOver) {
    it(`tta status ${argv.join(' ')}`, async () => {
      expect(await fastStatus(argv)).toBeUndefined()
    })
  }
})
