// Which probe each service gets: derived from the bundled compose model (as tta dev would start
// it), from a container's own configuration, and from tta.config.yaml overrides.
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {loadProject} from '../../../src/compose/load.js'
import type {Service} from '../../../src/compose/model.js'
import {bundledComposeDir} from '../../../src/paths.js'
import {deriveProbe, factsFromService, healthcheckUrl, imageBase, probeHostFor, type DeriveContext, type ServiceFacts} from '../../../src/probes/derive.js'
import {redisPassword} from '../../../src/probes/redis-args.js'

const ctx: DeriveContext = {reach: {via: 'published', hostFor: probeHostFor('unix:///var/run/docker.sock', {})}, timeoutMs: 1000, execTimeoutMs: 3000}

const full = loadProject({
  files: ['docker-compose.yml', 'docker-compose.hotreload.yml', 'docker-compose.monitoring.yml'].map((f) => join(bundledComposeDir, f)),
  environment: {TTA_WORKSPACE: '/ws', TTA_REDIS_PASSWORD: 'r-pass', TTA_POSTGRES_PASSWORD: 'p-pass', TTA_NEO4J_PASSWORD: 'n-pass-123', TTA_GRAFANA_ADMIN_PASSWORD: 'g-pass', TTA_REDIS_PORT: '16379'},
  envFiles: [],
}).project

const derive = (name: string, override?: Parameters<typeof deriveProbe>[1]) => deriveProbe(factsFromService(full.services[name] as Service), override, ctx)

describe('deriveProbe from the bundled compose model', () => {
  it('probes the datastores by protocol, with what their containers are configured with', () => {
    expect(derive('redis')).toEqual({spec: {type: 'redis', host: '127.0.0.1', port: 16379, password: 'r-pass', timeoutMs: 1000}, source: 'image'})
    expect(derive('postgres')).toEqual({spec: {type: 'postgres', host: '127.0.0.1', port: 5432, user: 'tta', database: 'tta', timeoutMs: 1000}, source: 'image'})
    expect(derive('neo4j')).toEqual({spec: {type: 'neo4j', host: '127.0.0.1', httpPort: 7474, boltPort: 7687, timeoutMs: 1000}, source: 'image'})
  })

  it('GETs the URL each API healthcheck fetches, on its published port', () => {
    for (const [name, port] of [['admin-api', 8001], ['clinical-api', 8002], ['developer-api', 8003], ['patient-api', 8004], ['langgraph', 8005]] as const) {
      expect(derive(name)).toEqual({spec: {type: 'http', host: '127.0.0.1', port, path: '/health', timeoutMs: 1000}, source: 'healthcheck'})
    }
    expect(derive('frontend').spec).toMatchObject({type: 'http', port: 3000, path: '/'})
    expect(derive('prometheus').spec).toMatchObject({type: 'http', port: 9090, path: '/-/ready'})
    expect(derive('grafana').spec).toMatchObject({type: 'http', port: 3001, path: '/api/health'})
    expect(derive('cadvisor').spec).toMatchObject({type: 'http', port: 8080, path: '/healthz'})
  })

  it('runs the healthcheck in the container when its URL is not published, and connects when there is only a port', () => {
    const promtail = derive('promtail')
    expect(promtail.spec?.type).toBe('exec')
    expect(promtail.spec).toMatchObject({command: ['/bin/sh', '-c', expect.stringContaining('http://127.0.0.1:9080/ready')], timeoutMs: 3000})
    expect(derive('redis-exporter')).toEqual({spec: {type: 'tcp', host: '127.0.0.1', port: 9121, timeoutMs: 1000}, source: 'port'})
  })

  it('gives every bundled service some probe', () => {
    for (const name of Object.keys(full.services)) expect(derive(name).spec, name).toBeDefined()
  })
})

const facts = (extra: Partial<ServiceFacts>): ServiceFacts => ({service: 'svc', images: ['busybox'], ports: [], environment: {}, command: [], ...extra})

describe('deriveProbe from facts and overrides', () => {
  it('recognises a stand-in image through the images: map, and the image by its base name', () => {
    expect(imageBase('tta-standin/redis:local')).toBe('redis')
    expect(imageBase('registry.local:5000/library/postgres:15.5-alpine@sha256:abc')).toBe('postgres')
    expect(imageBase('oliver006/redis_exporter:v1.56.0')).toBe('redis_exporter')
    const f = facts({images: ['mirror/cache:1', 'redis:7.2.4-alpine'], ports: [{target: 6379, published: 6380, hostIp: '0.0.0.0', protocol: 'tcp'}]})
    expect(deriveProbe(f, undefined, ctx).spec).toMatchObject({type: 'redis', port: 6380, host: '127.0.0.1'})
  })

  it('falls back to the exec healthcheck when a known image publishes nothing, and to state only without anything', () => {
    const f = facts({images: ['postgres:16'], healthcheck: {test: ['CMD', 'pg_isready'], timeoutMs: 1500}})
    expect(deriveProbe(f, undefined, ctx)).toEqual({spec: {type: 'exec', command: ['pg_isready'], timeoutMs: 1500}, source: 'healthcheck'})
    expect(deriveProbe(facts({}), undefined, ctx)).toMatchObject({spec: undefined, source: 'none'})
    expect(deriveProbe(facts({healthcheck: {test: ['NONE']}}), undefined, ctx).spec).toBeUndefined()
  })

  it('reads the local URL of wget, curl and python healthchecks', () => {
    expect(healthcheckUrl(['CMD-SHELL', 'wget -q --spider http://127.0.0.1:9090/-/ready || exit 1'])).toEqual({port: 9090, path: '/-/ready'})
    expect(healthcheckUrl(['CMD', 'curl', '-fsS', 'http://localhost/healthz'])).toEqual({port: 80, path: '/healthz'})
    expect(healthcheckUrl(['CMD', 'python3', '-c', "urlopen('http://127.0.0.1:8001/health', timeout=4)"])).toEqual({port: 8001, path: '/health'})
    expect(healthcheckUrl(['CMD-SHELL', 'curl http://example.com/'])).toBeUndefined()
    expect(healthcheckUrl(['NONE'])).toBeUndefined()
  })

  it('finds the redis password on the command line or in the environment', () => {
    expect(redisPassword({command: ['redis-server', '--requirepass', 'x1'], environment: {}})).toBe('x1')
    expect(redisPassword({command: ['--requirepass=x2'], environment: {}})).toBe('x2')
    expect(redisPassword({command: [], environment: {REDISCLI_AUTH: 'x3'}})).toBe('x3')
    expect(redisPassword({command: [], environment: {}})).toBeUndefined()
    // The last one wins, as in redis-server; the server's own variable before redis-cli's.
    expect(redisPassword({command: ['--requirepass', 'a', '--requirepass=b'], environment: {}})).toBe('b')
    expect(redisPassword({command: [], environment: {REDIS_PASSWORD: 'p', REDISCLI_AUTH: 'q'}})).toBe('p')
  })

  it('applies tta.config.yaml overrides: type, container port, path, expectation, timeout', () => {
    const api = facts({ports: [{target: 8001, published: 18001, protocol: 'tcp'}, {target: 9000, published: 19000, protocol: 'tcp'}], healthcheck: {test: ['CMD-SHELL', 'wget -q --spider http://127.0.0.1:8001/health']}})
    expect(deriveProbe(api, {type: 'http', port: 9000, path: '/ready', expect: [204], timeoutMs: 250}, ctx)).toEqual({
      spec: {type: 'http', host: '127.0.0.1', port: 19000, path: '/ready', expect: [204], timeoutMs: 250},
      source: 'config',
    })
    expect(deriveProbe(api, {type: 'http'}, ctx).spec).toMatchObject({port: 18001, path: '/health'})
    expect(deriveProbe(api, {type: 'tcp'}, ctx).spec).toMatchObject({type: 'tcp', port: 18001})
    expect(deriveProbe(api, {type: 'exec', command: ['true']}, ctx).spec).toEqual({type: 'exec', command: ['true'], timeoutMs: 3000})
    expect(deriveProbe(api, {type: 'none'}, ctx)).toMatchObject({spec: undefined, reason: 'probe disabled in tta.config.yaml'})
    expect(deriveProbe(api, {type: 'tcp', port: 7000}, ctx)).toMatchObject({spec: undefined, reason: expect.stringContaining('container port 7000 is not published')})
    expect(deriveProbe(facts({}), {type: 'exec'}, ctx)).toMatchObject({spec: undefined, reason: expect.stringContaining('needs command')})
    const pg = facts({ports: [{target: 5432, published: 15432, protocol: 'tcp'}], environment: {POSTGRES_USER: 'app'}})
    expect(deriveProbe(pg, {type: 'postgres', database: 'other'}, ctx).spec).toMatchObject({type: 'postgres', port: 15432, user: 'app', database: 'other'})
  })
})

describe('reaching ports from a container of the same engine (devcontainer)', () => {
  const reach = {via: 'network', networks: new Set(['tta_tta'])} as const
  const netCtx: DeriveContext = {reach, timeoutMs: 1000, execTimeoutMs: 3000}
  it("probes the container's own address and port on a network tta's container shares", () => {
    const redis = facts({images: ['redis:7'], ports: [{target: 6379, published: 16379, hostIp: '127.0.0.1', protocol: 'tcp'}], networks: [{name: 'other', ip: '10.9.0.2'}, {name: 'tta_tta', ip: '172.20.0.5'}]})
    expect(deriveProbe(redis, undefined, netCtx).spec).toMatchObject({type: 'redis', host: '172.20.0.5', port: 6379})
    // Unpublished ports are reachable this way too: the healthcheck's URL.
    const promtail = facts({networks: [{name: 'tta_tta', ip: '172.20.0.9'}], healthcheck: {test: ['CMD-SHELL', 'wget -q --spider http://127.0.0.1:9080/ready']}})
    expect(deriveProbe(promtail, undefined, netCtx).spec).toMatchObject({type: 'http', host: '172.20.0.9', port: 9080, path: '/ready'})
  })
  it('falls back to the exec healthcheck without a shared network, and says why an override cannot work', () => {
    const lonely = facts({images: ['redis:7'], ports: [{target: 6379, protocol: 'tcp'}], networks: [{name: 'other', ip: '10.9.0.2'}], healthcheck: {test: ['CMD', 'redis-cli', 'ping']}})
    expect(deriveProbe(lonely, undefined, netCtx).spec).toMatchObject({type: 'exec', command: ['redis-cli', 'ping']})
    expect(deriveProbe(lonely, {type: 'tcp', port: 6379}, netCtx)).toMatchObject({spec: undefined, reason: expect.stringContaining('shares no network with svc')})
  })
})

describe('probeHostFor', () => {
  it('reaches a local engine on the bound address, a remote one on its host', () => {
    const local = probeHostFor('unix:///var/run/docker.sock', {})
    expect([local(undefined), local('0.0.0.0'), local('127.0.0.1'), local('::'), local('10.0.0.5')]).toEqual(['127.0.0.1', '127.0.0.1', '127.0.0.1', '::1', '10.0.0.5'])
    expect(probeHostFor('tcp://build-box:2376', {})('127.0.0.1')).toBeUndefined()
    expect(probeHostFor('ssh://me@[fd00::1]', {})('0.0.0.0')).toBe('fd00::1')
    expect(probeHostFor('tcp://build-box:2376', {TTA_PROBE_HOST: '192.168.1.9'})('127.0.0.1')).toBe('192.168.1.9')
  })
})

describe('reaching ports that are not published, on a local engine', () => {
  const facts = (ports: Array<{target: number; published?: number}>) => ({
    service: 'promtail',
    images: ['grafana/promtail:2.9.3'],
    ports: ports.map((p) => ({...p, protocol: 'tcp', hostIp: p.published ? '127.0.0.1' : undefined})),
    healthcheck: {test: ['CMD-SHELL', 'wget -q --spider http://127.0.0.1:9080/ready || exit 1']},
    environment: {},
    command: [],
    networks: [{name: 'p_default', ip: '172.18.0.6', id: 'a1b2c3d4e5f60718293a4b5c'}],
  })
  const local = (ids: string[]): DeriveContext => ({...ctx, reach: {via: 'published', hostFor: () => '127.0.0.1', direct: (id) => ids.includes(id)}})

  it("probes the healthcheck's URL at the container's address when its bridge is local", () => {
    expect(deriveProbe(facts([{target: 9080}]), undefined, local(['a1b2c3d4e5f60718293a4b5c'])).spec).toMatchObject({type: 'http', host: '172.18.0.6', port: 9080, path: '/ready'})
  })

  it("probes a published port at the container's own address too (no userland-proxy hop), and on the host port when the bridge is not local", () => {
    expect(deriveProbe(facts([{target: 9080, published: 19080}]), undefined, local(['a1b2c3d4e5f60718293a4b5c'])).spec).toEqual({type: 'http', host: '172.18.0.6', port: 9080, path: '/ready', timeoutMs: 1000})
    expect(deriveProbe(facts([{target: 9080, published: 19080}]), undefined, local([])).spec).toEqual({type: 'http', host: '127.0.0.1', port: 19080, path: '/ready', timeoutMs: 1000})
  })

  it('probes redis and postgres by image at the container address, and a configured tcp probe without the proxy hold', () => {
    const redis = {...facts([{target: 6379, published: 16379}]), images: ['redis:7'], healthcheck: undefined}
    expect(deriveProbe(redis, undefined, local(['a1b2c3d4e5f60718293a4b5c'])).spec).toEqual({type: 'redis', host: '172.18.0.6', port: 6379, password: undefined, timeoutMs: 1000})
    expect(deriveProbe(redis, {type: 'tcp'}, local(['a1b2c3d4e5f60718293a4b5c'])).spec).toEqual({type: 'tcp', host: '172.18.0.6', port: 6379, timeoutMs: 1000, direct: true})
    expect(deriveProbe(redis, {type: 'tcp'}, local([])).spec).toEqual({type: 'tcp', host: '127.0.0.1', port: 16379, timeoutMs: 1000, direct: undefined})
  })

  it('connects a plain TCP probe to the container itself, past the userland proxy, when it can', () => {
    const noHealthcheck = {...facts([{target: 9121, published: 19121}]), healthcheck: undefined}
    expect(deriveProbe(noHealthcheck, undefined, local(['a1b2c3d4e5f60718293a4b5c'])).spec).toEqual({type: 'tcp', host: '172.18.0.6', port: 9121, timeoutMs: 1000, direct: true})
    expect(deriveProbe(noHealthcheck, undefined, local([])).spec).toEqual({type: 'tcp', host: '127.0.0.1', port: 19121, timeoutMs: 1000})
  })

  it('falls back to running the healthcheck when the bridge is not ours (a remote engine, another namespace)', () => {
    expect(deriveProbe(facts([{target: 9080}]), undefined, local([])).spec).toMatchObject({type: 'exec'})
    expect(deriveProbe(facts([{target: 9080}]), undefined, ctx).spec).toMatchObject({type: 'exec'})
  })
})
