import {describe, expect, it} from 'vitest'

import {planSwarmCleanup, specReferences, type StackObject, type StackService} from '../../../src/deploy/swarm-cleanup.js'
import {pickSwarmBackupTasks} from '../../../src/deploy/swarm-backup.js'
import type {SwarmTaskInfo} from '../../../src/deploy/swarm.js'
import type {ServiceSpec} from '../../../src/docker/port.js'

const STACK = 'shop'
const owned = {'com.docker.stack.namespace': STACK, 'dev.tta.managed-by': 'tta'}

function spec(secrets: string[], configs: string[] = []): ServiceSpec {
  return {
    TaskTemplate: {
      ContainerSpec: {
        Image: 'img',
        Secrets: secrets.map((name) => ({SecretName: name, SecretID: `id-${name}`})),
        Configs: configs.map((name) => ({ConfigName: name, ConfigID: `id-${name}`})),
      },
    },
  } as ServiceSpec
}

function service(name: string, current: ServiceSpec, previous?: ServiceSpec, labels: Record<string, string> = owned): StackService {
  return {service: name, id: `svc-${name}`, labels, spec: current, previousSpec: previous}
}

const object = (name: string, labels: Record<string, string> = owned): StackObject => ({id: `id-${name}`, name, labels})

describe('planSwarmCleanup', () => {
  it('removes services tta made that the files no longer have, and keeps others', () => {
    const plan = planSwarmCleanup({
      stack: STACK,
      wanted: ['api'],
      services: [
        service('api', spec([])),
        service('worker', spec([])),
        service('manual', spec([]), undefined, {'com.docker.stack.namespace': STACK}),
        service('stack-deployed', spec([]), undefined, {'com.docker.stack.namespace': STACK, 'dev.tta.managed-by': 'someone-else'}),
      ],
      secrets: [],
      configs: [],
    })
    expect(plan.services).toEqual([{service: 'worker', id: 'svc-worker'}])
    expect(plan.kept).toEqual(['manual', 'stack-deployed'])
  })

  it('removes secrets and configs no remaining spec or previous spec uses; keeps record configs and foreign objects', () => {
    const plan = planSwarmCleanup({
      stack: STACK,
      wanted: ['api', 'cache'],
      services: [
        // api moved from conf v1 to v2: v1 stays for swarm's rollback; v0 (two versions back) goes.
        service('api', spec(['shop_pw_b'], ['shop_api_conf_v2']), spec(['shop_pw_a'], ['shop_api_conf_v1'])),
        service('cache', spec(['shop_pw_b'])),
        // worker is removed now: what only it used goes with it.
        service('worker', spec(['shop_worker_token_1'], ['shop_worker_conf_1'])),
        // a hand-made service's objects are its own business, and it keeps what it mounts.
        service('manual', spec(['shop_manual_secret']), undefined, {'com.docker.stack.namespace': STACK}),
      ],
      secrets: [object('shop_pw_a'), object('shop_pw_b'), object('shop_pw_old'), object('shop_worker_token_1'), object('shop_manual_secret'), object('shop_handmade', {'com.docker.stack.namespace': STACK})],
      configs: [
        object('shop_api_conf_v0'),
        object('shop_api_conf_v1'),
        object('shop_api_conf_v2'),
        object('shop_worker_conf_1'),
        object('shop_tta-deploy-20260101T000000Z-abcd', {...owned, 'dev.tta.deploy.record': 'true'}),
        object('other_api_conf', {'com.docker.stack.namespace': 'other', 'dev.tta.managed-by': 'tta'}),
      ],
    })
    expect(plan.services.map((s) => s.service)).toEqual(['worker'])
    expect(plan.secrets.map((s) => s.name)).toEqual(['shop_pw_old', 'shop_worker_token_1'])
    expect(plan.configs.map((c) => c.name)).toEqual(['shop_api_conf_v0', 'shop_worker_conf_1'])
  })

  it('matches references by id as well as by name', () => {
    const refs = specReferences({TaskTemplate: {ContainerSpec: {Secrets: [{SecretID: 'abc'}], Configs: [{ConfigName: 'c'}]}}} as ServiceSpec)
    expect([...refs.secrets]).toEqual(['abc'])
    expect([...refs.configs]).toEqual(['c'])
    const plan = planSwarmCleanup({stack: STACK, wanted: ['api'], services: [service('api', {TaskTemplate: {ContainerSpec: {Secrets: [{SecretID: 'id-x'}]}}} as ServiceSpec)], secrets: [object('x')], configs: []})
    expect(plan.secrets).toEqual([])
  })
})

describe('pickSwarmBackupTasks', () => {
  const task = (service: string, node: string, container: string, state = 'running', desired = 'running'): SwarmTaskInfo => ({
    ID: `t-${service}-${node}`,
    ServiceID: `svc-${service}`,
    NodeID: node,
    DesiredState: desired,
    Spec: {},
    Status: {State: state, ContainerStatus: {ContainerID: container}},
  })
  it('takes the running task on this node of each datastore; names those elsewhere; skips stateless services', () => {
    const services = [
      {service: 'db', id: 'svc-db', image: 'registry:5000/library/postgres:15@sha256:1', volumes: 1},
      {service: 'cache', id: 'svc-cache', image: 'redis:7.2.4-alpine', volumes: 0},
      {service: 'files', id: 'svc-files', image: 'busybox', volumes: 1},
      {service: 'api', id: 'svc-api', image: 'reg/api:v1', volumes: 0},
      {service: 'search', id: 'svc-search', image: 'neo4j:5', volumes: 1},
    ]
    const tasks = [
      task('db', 'other', 'c-db-remote'),
      task('db', 'me', 'c-db-old', 'shutdown', 'shutdown'),
      task('db', 'me', 'c-db'),
      task('cache', 'other', 'c-cache'),
      task('api', 'me', 'c-api'),
      task('files', 'me', 'c-files-starting', 'starting'),
    ]
    const choice = pickSwarmBackupTasks(services, tasks, 'me')
    expect([...choice.local]).toEqual([['db', 'c-db']])
    expect(choice.remote).toEqual([{service: 'cache', node: 'other'}])
    expect(choice.notRunning).toEqual(['files', 'search'])
  })
})
