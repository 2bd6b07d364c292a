import {describe, expect, it} from 'vitest'

import {DeployLabel, swarmFiles, swarmNetworks, swarmServiceSpec, type SwarmContext} from '../../../src/deploy/swarm-spec.js'
import type {ContainerTaskSpec} from '../../../src/docker/port.js'
import {loadedOf, projectOf, svc} from '../engine/fixtures.js'

const PASSWORD = 'Zx9-generated-password'

function context(extra: Partial<SwarmContext> = {}): SwarmContext {
  const project = projectOf(
    [
      svc('db', {
        image: 'postgres:15',
        environment: {POSTGRES_PASSWORD: PASSWORD},
        volumes: [{type: 'volume', source: 'data', target: '/var/lib/postgresql/data'}],
        healthcheck: {test: ['CMD-SHELL', 'pg_isready'], interval: '1s', retries: 3, start_interval: '1s'},
      }),
      svc('api', {
        image: 'tta/api:dev',
        environment: {DATABASE_URL: `postgresql://tta:${PASSWORD}@db/tta`, LOG_LEVEL: 'info'},
        ports: [{mode: 'ingress', target: 8001, published: '8001', protocol: 'tcp', host_ip: '127.0.0.1'}],
        depends_on: {db: {condition: 'service_healthy', required: true}},
        deploy: {replicas: 2, resources: {limits: {cpus: 0.5, memory: '536870912'}}},
        restart: 'always',
      }),
    ],
    'tta',
  )
  const loaded = {...loadedOf(project), environment: {TTA_POSTGRES_PASSWORD: PASSWORD, TTA_LOG_LEVEL: 'info'}}
  return {
    loaded,
    stack: 'tta',
    apiVersion: '1.41',
    images: {api: 'reg:5000/tta/api:v2@sha256:abc'},
    replicas: {},
    nodes: 1,
    files: swarmFiles(loaded, 'tta', () => Buffer.alloc(0), {}),
    ...extra,
  }
}

describe('swarmServiceSpec', () => {
  it('updates start-first and rolls back on failure; rollbacks pause rather than loop', () => {
    const api = swarmServiceSpec(context(), 'api')
    expect(api.spec.UpdateConfig).toMatchObject({Order: 'start-first', FailureAction: 'rollback', Parallelism: 1, Monitor: 5e9})
    expect(api.spec.RollbackConfig).toMatchObject({Order: 'start-first', FailureAction: 'pause'})
    expect(api.spec.Mode).toEqual({Replicated: {Replicas: 2}})
    expect(api.image).toBe('reg:5000/tta/api:v2@sha256:abc')
    const task = api.spec.TaskTemplate as ContainerTaskSpec
    expect(task.ContainerSpec?.Image).toBe('reg:5000/tta/api:v2@sha256:abc')
    expect(task.Resources?.Limits).toEqual({NanoCPUs: 5e8, MemoryBytes: 536870912, Pids: undefined})
    expect(task.RestartPolicy).toEqual({Condition: 'any'})
    expect(task.Networks).toEqual([{Target: 'tta_default', Aliases: ['api']}])
    expect(api.spec.Labels).toMatchObject({[DeployLabel.namespace]: 'tta', [DeployLabel.specHash]: api.hash})
  })
  it('never runs two writers of a named volume: stop-first for datastores', () => {
    const db = swarmServiceSpec(context(), 'db')
    expect(db.order).toBe('stop-first')
    const task = db.spec.TaskTemplate as ContainerTaskSpec
    expect(task.ContainerSpec?.Mounts?.[0]).toMatchObject({Type: 'volume', Source: 'tta_data', Target: '/var/lib/postgresql/data'})
    // Engine 20.10 (API 1.41) does not know start_interval: dropped, with a note.
    expect(task.ContainerSpec?.HealthCheck).toMatchObject({Test: ['CMD-SHELL', 'pg_isready'], Interval: 1e9, Retries: 3})
    expect(db.notes.join('\n')).toContain('start_interval')
  })
  it('says that swarm cannot bind a host IP, and publishes as the target says', () => {
    const api = swarmServiceSpec(context(), 'api')
    expect(api.spec.EndpointSpec?.Ports).toEqual([{Protocol: 'tcp', TargetPort: 8001, PublishedPort: 8001, PublishMode: 'ingress'}])
    expect(api.notes.join('\n')).toContain('host_ip 127.0.0.1 cannot be honoured')
    const host = swarmServiceSpec(context({publishMode: 'host', replicas: {api: 1}, nodes: 3}), 'api')
    expect(host.spec.EndpointSpec?.Ports?.[0]?.PublishMode).toBe('host')
    expect(host.order).toBe('start-first')
  })
  it('falls back to stop-first when a fixed host-mode port leaves no node for a second task', () => {
    const api = swarmServiceSpec(context({publishMode: 'host', nodes: 1}), 'api')
    expect(api.order).toBe('stop-first')
    expect(api.notes.join('\n')).toContain('fixed host-mode port')
  })
  it('mounts password variables as secrets into the services that use them', () => {
    const ctx = context()
    expect(ctx.files).toEqual([
      expect.objectContaining({kind: 'secret', key: 'postgres_password', name: expect.stringMatching(/^tta_postgres_password_[0-9a-f]{10}$/), mounts: [{service: 'db', target: 'postgres_password'}, {service: 'api', target: 'postgres_password'}]}),
    ])
    const api = swarmServiceSpec({...ctx, fileIds: {[ctx.files[0]?.name as string]: 'secret-id'}}, 'api')
    expect((api.spec.TaskTemplate as ContainerTaskSpec).ContainerSpec?.Secrets).toEqual([
      {SecretID: 'secret-id', SecretName: ctx.files[0]?.name, File: {Name: 'postgres_password', UID: '0', GID: '0', Mode: 0o444}},
    ])
  })
  it('hashes the spec without object ids, and changes the hash when the image does', () => {
    const a = swarmServiceSpec(context(), 'api')
    const b = swarmServiceSpec({...context(), fileIds: {anything: 'x'}}, 'api')
    expect(b.hash).toBe(a.hash)
    const c = swarmServiceSpec(context({images: {api: 'reg:5000/tta/api:v3@sha256:def'}}), 'api')
    expect(c.hash).not.toBe(a.hash)
  })
})

describe('swarmNetworks', () => {
  it('turns bridge networks into attachable overlays named like the stack', () => {
    expect(swarmNetworks(context().loaded.project, ['api'])).toEqual([{key: 'default', name: 'tta_default', external: false, driver: 'overlay', attachable: true, labels: {}}])
  })
})
