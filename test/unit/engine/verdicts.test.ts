import {describe, expect, it} from 'vitest'

import {VerdictNeeds} from '../../../src/engine/verdicts.js'
import {projectOf, svc} from './fixtures.js'

const healthy = {condition: 'service_healthy' as const, required: true}
const project = projectOf([
  svc('redis'),
  svc('postgres'),
  svc('api', {depends_on: {redis: healthy, postgres: healthy}}),
  svc('web', {depends_on: {api: {condition: 'service_started', required: true}}}),
])

describe('VerdictNeeds: whose readiness verdict is waited on now', () => {
  it('a dependency that answers while another one of the same dependent does not: not needed yet', () => {
    const needs = new VerdictNeeds(project, ['redis', 'postgres', 'api', 'web'])
    needs.answers('redis')
    expect(needs.neededNow('redis')).toBe(false)
    needs.answers('postgres')
    // Both answer: both are confirmed now, together.
    expect(needs.neededNow('redis')).toBe(true)
    expect(needs.neededNow('postgres')).toBe(true)
  })

  it('the last services of the run are needed once every other target answers; not before', () => {
    const needs = new VerdictNeeds(project, ['redis', 'postgres', 'api', 'web'])
    for (const s of ['redis', 'postgres']) needs.answers(s)
    needs.startedService('api')
    needs.answers('web')
    expect(needs.neededNow('web')).toBe(false)
    needs.answers('api')
    expect(needs.neededNow('web')).toBe(true)
  })

  it('tells its listeners when who answers changes', () => {
    const needs = new VerdictNeeds(project, ['redis', 'postgres'])
    let calls = 0
    const stop = needs.onChange(() => calls++)
    needs.answers('redis')
    needs.answers('redis')
    stop()
    needs.answers('postgres')
    expect(calls).toBe(1)
  })
})
