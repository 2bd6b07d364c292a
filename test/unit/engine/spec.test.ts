import {describe, expect, it} from 'vitest'

import {configHash} from '../../../src/engine/labels.js'
import {containerSpec, healthcheckSpec, restartPolicy, serviceHash} from '../../../src/engine/spec.js'
import {serviceUrls} from '../../../src/engine/urls.js'
import {healthcheckCommand, readinessFor, readyFromListing} from '../../../src/engine/readiness.js'
import {durationToNanos} from '../../../src/engine/durations.js'
import {applyImageMap, buildArgs} from '../../../src/engine/images.js'
import {graphFromLabels} from '../../../src/engine/stop.js'
import {demux} from '../../../src/engine/container-io.js'
import {loadedOf, projectOf, svc} from './fixtures.js'

const redis = svc('redis', {
  image: 'redis:7',
  command: ['redis-server', '--appendonly', 'yes'],
  environment: {A: '1', B: null},
  ports: [{mode: 'ingress', host_ip: '127.0.0.1', target: 6379, published: '16379', protocol: 'tcp'}],
  volumes: [
    {type: 'volume', source: 'data', target: '/data', volume: {}},
    {type: 'bind', source: '/src', target: '/app', read_only: true, bind: {create_host_path: true}},
  ],
  healthcheck: {test: ['CMD', 'redis-cli', 'ping'], interval: '10s', timeout: '2s', retries: 3, start_period: '5s', start_interval: '1s'},
  restart: 'on-failure:3',
  depends_on: {db: {condition: 'service_healthy', required: true}},
  deploy: {resources: {limits: {memory: '536870912', cpus: 0.5}}},
})
const loaded = loadedOf(projectOf([redis, svc('db')]))

describe('containerSpec', () => {
  const spec = containerSpec({loaded, apiVersion: '1.41'}, redis)

  it('names the container PROJECT-SERVICE-N and carries Compose labels', () => {
    expect(spec.name).toBe('p-redis-1')
    expect(spec.Labels).toMatchObject({
      'com.docker.compose.project': 'p',
      'com.docker.compose.service': 'redis',
      'com.docker.compose.container-number': '1',
      'com.docker.compose.oneoff': 'False',
      'com.docker.compose.project.working_dir': '/ws/compose',
      'com.docker.compose.project.config_files': '/ws/compose/a.yml,/ws/compose/b.yml',
      'com.docker.compose.depends_on': 'db:service_healthy:false',
    })
    expect(spec.Labels?.['com.docker.compose.config-hash']).toMatch(/^[0-9a-f]{64}$/)
  })

  it('maps ports, mounts, env, limits and restart policy', () => {
    expect(spec.Env).toEqual(['A=1'])
    expect(spec.ExposedPorts).toEqual({'6379/tcp': {}})
    expect(spec.HostConfig?.PortBindings).toEqual({'6379/tcp': [{HostIp: '127.0.0.1', HostPort: '16379'}]})
    expect(spec.HostConfig?.Mounts).toEqual([
      {Type: 'volume', Source: 'p_data', Target: '/data', ReadOnly: false, VolumeOptions: undefined},
    ])
    // create_host_path: the engine creates a missing source, as with Compose.
    expect(spec.HostConfig?.Binds).toEqual(['/src:/app:ro'])
    expect(spec.HostConfig?.Memory).toBe(536870912)
    expect(spec.HostConfig?.NanoCpus).toBe(500000000)
    expect(spec.HostConfig?.RestartPolicy).toEqual({Name: 'on-failure', MaximumRetryCount: 3})
    expect(spec.HostConfig?.NetworkMode).toBe('p_default')
    expect(spec.NetworkingConfig?.EndpointsConfig?.p_default?.Aliases).toEqual(['redis'])
  })

  it('drops healthcheck.start_interval below API 1.44 and keeps it from 1.44', () => {
    expect(healthcheckSpec(redis, '1.41')).toEqual({Test: ['CMD', 'redis-cli', 'ping'], Interval: 10e9, Timeout: 2e9, Retries: 3, StartPeriod: 5e9})
    expect(healthcheckSpec(redis, '1.44')).toMatchObject({StartInterval: 1e9})
    expect(serviceHash(redis, '1.41')).not.toBe(serviceHash(redis, '1.44'))
  })

  it('hashes independently of key order', () => {
    const a = svc('x', {environment: {A: '1', B: '2'}})
    const b = svc('x', {environment: {B: '2', A: '1'}})
    expect(configHash(a)).toBe(configHash(b))
    expect(configHash(a)).not.toBe(configHash(svc('x', {environment: {A: '1', B: '3'}})))
  })
})

describe('small engine helpers', () => {
  it('parses restart policies', () => {
    expect(restartPolicy(undefined)).toEqual({Name: 'no'})
    expect(restartPolicy('unless-stopped')).toEqual({Name: 'unless-stopped'})
  })
  it('parses Go durations', () => {
    expect(durationToNanos('1m30s')).toBe(90e9)
    expect(durationToNanos('500ms')).toBe(5e8)
    expect(() => durationToNanos('5x')).toThrow(/invalid duration/)
  })
  it('derives URLs from published ports', () => {
    expect(serviceUrls(redis)).toEqual(['redis://localhost:16379'])
    expect(serviceUrls(svc('api', {ports: [{mode: 'ingress', host_ip: '127.0.0.1', target: 8001, published: '8001', protocol: 'tcp'}]}))).toEqual(['http://localhost:8001'])
  })
  it('chooses readiness: healthcheck, else image healthcheck, else port, else running', () => {
    expect(readinessFor(redis)).toMatchObject({kind: 'healthcheck', timeoutMs: 2000})
    const bare = svc('web', {ports: [{mode: 'ingress', target: 80, published: '8080', protocol: 'tcp'}]})
    expect(readinessFor(bare)).toEqual({kind: 'port', port: 8080, probe: {type: 'tcp', host: '127.0.0.1', port: 8080, timeoutMs: 500}})
    expect(readinessFor(bare, {Test: ['CMD-SHELL', 'true']})).toMatchObject({kind: 'healthcheck'})
    expect(readinessFor(svc('tool'))).toEqual({kind: 'running'})
    expect(readinessFor(svc('off', {healthcheck: {disable: true}}))).toEqual({kind: 'running'})
  })
  it('takes a compose timeout over the image healthcheck timeout when only the image has a test', () => {
    const timed = svc('web', {healthcheck: {timeout: '3s'}})
    expect(readinessFor(timed, {Test: ['CMD-SHELL', 'true'], Timeout: 10e9})).toMatchObject({kind: 'healthcheck', timeoutMs: 3000})
    expect(readinessFor(svc('web'), {Test: ['CMD-SHELL', 'true'], Timeout: 10e9})).toMatchObject({kind: 'healthcheck', timeoutMs: 10_000})
  })
  it('knows a kept container ready from the container list alone: running (no restart policy) or healthy', () => {
    const hc = readinessFor(redis)
    expect(readyFromListing(svc('tool'), {kind: 'running'}, {state: 'running', status: 'Up 3 minutes'})).toBe('running')
    expect(readyFromListing(svc('tool', {restart: 'always'}), {kind: 'running'}, {state: 'running', status: 'Up 3 minutes'})).toBeUndefined()
    expect(readyFromListing(redis, hc, {state: 'running', status: 'Up 3 minutes (healthy)'})).toBe('healthcheck')
    expect(readyFromListing(redis, hc, {state: 'running', status: 'Up 3 seconds (health: starting)'})).toBeUndefined()
    expect(readyFromListing(redis, hc, {state: 'running', status: 'Up 3 minutes (unhealthy)'})).toBeUndefined()
    expect(readyFromListing(svc('tool'), {kind: 'running'}, {state: 'exited', status: 'Exited (0) 1 minute ago'})).toBeUndefined()
    expect(readyFromListing(svc('web'), {kind: 'port', port: 8080, probe: {type: 'tcp', host: '127.0.0.1', port: 8080, timeoutMs: 500}}, {state: 'running', status: 'Up 3 minutes'})).toBeUndefined()
  })
  it('turns healthcheck tests into exec commands', () => {
    expect(healthcheckCommand(['CMD-SHELL', 'pg_isready -U x'])).toEqual(['/bin/sh', '-c', 'pg_isready -U x'])
    expect(healthcheckCommand(['CMD', 'redis-cli', 'ping'])).toEqual(['redis-cli', 'ping'])
  })
  it('applies the image map to named images only', () => {
    const p = projectOf([svc('a', {image: 'redis:7'}), svc('b', {image: 'redis:7', build: {context: '/x'}})])
    const mapped = applyImageMap(p, {'redis:7': 'stand/redis:local'})
    expect(mapped.services.a?.image).toBe('stand/redis:local')
    expect(mapped.services.b?.image).toBe('redis:7')
  })
  it('builds docker build arguments with project labels', () => {
    const s = svc('api', {image: 'tta/api:dev', build: {context: '/ws/api', dockerfile: 'Dockerfile', args: {A: '1'}}})
    expect(buildArgs('p', s)).toEqual(['build', '--progress', 'plain', '-t', 'tta/api:dev', '-f', '/ws/api/Dockerfile', '--build-arg', 'A=1', '--label', 'com.docker.compose.project=p', '--label', 'com.docker.compose.service=api', '/ws/api'])
  })
  it('rebuilds the dependency graph from depends_on labels', () => {
    const g = graphFromLabels([
      {service: 'api', labels: {'com.docker.compose.depends_on': 'db:service_healthy:false,cache:service_started:false'}},
      {service: 'db', labels: {}},
    ])
    expect(Object.keys(g.services.api?.depends_on ?? {})).toEqual(['db', 'cache'])
  })
  it('demultiplexes Docker streams', () => {
    const frame = (type: number, text: string): Buffer => {
      const body = Buffer.from(text)
      const header = Buffer.alloc(8)
      header[0] = type
      header.writeUInt32BE(body.length, 4)
      return Buffer.concat([header, body])
    }
    expect(demux(Buffer.concat([frame(1, 'out\n'), frame(2, 'err\n'), frame(1, 'more')]))).toEqual({stdout: 'out\nmore', stderr: 'err\n'})
  })
})
