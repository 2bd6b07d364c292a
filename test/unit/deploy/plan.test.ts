import {describe, expect, it} from 'vitest'

import {changedServices, formatDeployPlan, type DeployPlan} from '../../../src/deploy/plan.js'

const plan: DeployPlan = {
  env: 'production',
  type: 'swarm',
  host: 'ssh://deploy@prod',
  project: 'tta',
  action: 'deploy',
  version: 'v2',
  currentVersion: 'v1',
  registry: 'reg.example.com:5000',
  builds: [{service: 'admin-api', image: 'reg.example.com:5000/tta/admin-api:v2', push: true}],
  services: [
    {service: 'redis', change: 'unchanged', reason: '', image: 'redis:7.2.4-alpine', replicas: 1},
    {service: 'admin-api', change: 'update', reason: 'image reg.example.com:5000/tta/admin-api:v1 → reg.example.com:5000/tta/admin-api:v2, start-first', image: 'reg.example.com:5000/tta/admin-api:v2', replicas: 2},
  ],
  orphans: ['old-worker'],
  backup: true,
  notes: ['admin-api: swarm publishes port 8001 on every interface'],
}

describe('formatDeployPlan', () => {
  it('shows images, each service with its change and replicas, and the notes', () => {
    expect(formatDeployPlan(plan)).toBe(
      [
        'deploy tta v2 to production: swarm at ssh://deploy@prod (running: v1)',
        'images:',
        '  admin-api  build + push  reg.example.com:5000/tta/admin-api:v2',
        'services:',
        '  redis      unchanged  1×  redis:7.2.4-alpine',
        '  admin-api  update     2×  reg.example.com:5000/tta/admin-api:v2  image reg.example.com:5000/tta/admin-api:v1 → reg.example.com:5000/tta/admin-api:v2, start-first',
        '1 of 2 services change; datastores are backed up first',
        'kept, no longer in the compose files (not created by tta): old-worker',
        'note: admin-api: swarm publishes port 8001 on every interface',
      ].join('\n'),
    )
    expect(changedServices(plan)).toEqual(['admin-api'])
  })
  it('says a rollback builds nothing', () => {
    const text = formatDeployPlan({...plan, action: 'rollback', version: 'v1', builds: [], orphans: [], notes: [], backup: false})
    expect(text.split('\n')[0]).toBe('roll back tta v1 to production: swarm at ssh://deploy@prod (running: v1)')
    expect(text).toContain('images: none built')
  })
  it('lists a swarm service the files no longer have as a removal, and counts it as a change', () => {
    const removing: DeployPlan = {...plan, orphans: [], notes: [], services: [...plan.services, {service: 'worker', change: 'remove', reason: 'no longer in the compose files; removed after a successful rollout', image: 'reg/worker:v1', replicas: 1}]}
    expect(formatDeployPlan(removing).split('\n')).toContainEqual(expect.stringMatching(/^ {2}worker {5}remove {5}1× {2}reg\/worker:v1 +no longer in the compose files; removed after a successful rollout$/))
    expect(changedServices(removing)).toEqual(['admin-api', 'worker'])
    expect(formatDeployPlan({...plan, type: 'compose'})).toContain('kept, no longer in the compose files: old-worker')
  })
})
