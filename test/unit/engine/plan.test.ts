import {describe, expect, it} from 'vitest'

import {dependencyLevels, dependentsOf, withDependencies} from '../../../src/engine/graph.js'
import {formatPlan, planUp} from '../../../src/engine/plan.js'
import {container, observedOf, projectOf, svc} from './fixtures.js'

const dep = (condition: 'service_started' | 'service_healthy' = 'service_healthy') => ({condition, required: true})

const project = projectOf([
  svc('db', {volumes: [{type: 'volume', source: 'data', target: '/data'}]}),
  svc('cache'),
  svc('api', {depends_on: {db: dep(), cache: dep('service_started')}}),
  svc('web', {depends_on: {api: dep()}}),
  svc('tool'),
])
const all = ['api', 'cache', 'db', 'tool', 'web']
const hashes = Object.fromEntries(all.map((s) => [s, `hash-${s}`]))
const imageIds = Object.fromEntries(all.map((s) => [s, `img-${s}`]))

describe('graph', () => {
  it('adds transitive dependencies of the named services', () => {
    expect(withDependencies(project, ['web'])).toEqual(['api', 'cache', 'db', 'web'])
    expect(withDependencies(project)).toEqual(all)
  })
  it('finds transitive dependents', () => {
    expect(dependentsOf(project, 'db')).toEqual(['api', 'web'])
    expect(dependentsOf(project, 'db', ['db', 'api'])).toEqual(['api'])
  })
  it('orders services in dependency levels', () => {
    expect(dependencyLevels(project, all)).toEqual([['cache', 'db', 'tool'], ['api'], ['web']])
  })
})

describe('planUp', () => {
  it('creates everything on an empty engine, and prints the plan as aligned text', () => {
    const plan = planUp({project, targets: all, observed: observedOf([]), hashes, imageIds})
    expect(formatPlan(plan)).toBe(
      [
        'network  p_default  create',
        'volume   p_data     create',
        'service  cache      create  no container',
        'service  db         create  no container',
        'service  tool       create  no container',
        'service  api        create  no container',
        'service  web        create  no container',
      ].join('\n'),
    )
  })

  it('keeps what is running and unchanged, starts what is stopped', () => {
    const observed = observedOf(
      [container('db'), container('cache', {state: 'exited'}), container('api'), container('web'), container('tool')],
      ['p_default'],
      ['p_data'],
    )
    const plan = planUp({project, targets: all, observed, hashes, imageIds})
    expect(Object.values(plan.services).map((s) => `${s.service}:${s.action}`)).toEqual(['api:keep', 'cache:start', 'db:keep', 'tool:keep', 'web:keep'])
    expect(plan.networks[0]?.action).toBe('exists')
    expect(plan.volumes[0]?.action).toBe('exists')
  })

  it('recreates a changed service and its dependents only', () => {
    const observed = observedOf(all.map((s) => container(s)))
    const plan = planUp({project, targets: all, observed, hashes: {...hashes, db: 'new'}, imageIds})
    const actions = Object.fromEntries(Object.values(plan.services).map((s) => [s.service, `${s.action} (${s.reason})`]))
    expect(actions).toEqual({
      api: 'recreate (dependency db recreated)',
      cache: 'keep (running, unchanged)',
      db: 'recreate (config changed)',
      tool: 'keep (running, unchanged)',
      web: 'recreate (dependency db recreated)',
    })
  })

  it('recreates when the image id changed (after a build)', () => {
    const plan = planUp({project, targets: ['tool'], observed: observedOf([container('tool')]), hashes, imageIds: {tool: 'img-new'}})
    expect(plan.services.tool?.action).toBe('recreate')
    expect(plan.services.tool?.reason).toBe('image changed')
  })

  it('recreates everything with forceRecreate, and marks surplus containers', () => {
    const observed = observedOf([container('tool'), container('tool', {id: 'second', number: 2})])
    const plan = planUp({project, targets: ['tool'], observed, hashes, imageIds, forceRecreate: true})
    expect(plan.services.tool?.action).toBe('recreate')
    expect(plan.services.tool?.surplus.map((c) => c.id)).toEqual(['second'])
  })

  it('leaves external networks alone', () => {
    const p = {...project, networks: {default: {name: 'shared', external: true}}}
    const plan = planUp({project: p, targets: ['tool'], observed: observedOf([]), hashes, imageIds})
    expect(plan.networks).toEqual([{key: 'default', name: 'shared', action: 'external'}])
  })
})
