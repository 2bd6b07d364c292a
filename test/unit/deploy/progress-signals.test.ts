import {describe, expect, it} from 'vitest'

import {ttyDeployProgress} from '../../../src/ui/deploy-progress.js'

describe('deploy progress on a terminal', () => {
  it('leaves Ctrl-C to the command: listr2 registers no SIGINT handler (its own exits 127 and loses the record)', async () => {
    const before = process.listenerCount('SIGINT')
    const progress = await ttyDeployProgress({steps: ['build', 'rollout', 'record'], verbose: false})
    expect(process.listenerCount('SIGINT')).toBe(before)
    progress.emit({type: 'step', step: 'build', status: 'skipped', detail: 'nothing to build'})
    await progress.finish()
  })
})
