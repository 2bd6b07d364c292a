// The pure parts of tta status: verdicts, reading containers, stats arithmetic, metrics text, rendering.
import {readFileSync} from 'node:fs'
import chalk from 'chalk'
import {beforeAll, describe, expect, it} from 'vitest'

import {factsFromContainer, publishedPorts, urlsFor, type InspectedContainer, type ListedContainer} from '../../../src/status/collect.js'
import {declaredServices, MONITORING_FILE, monitoringServices, scanServiceKeys} from '../../../src/status/groups.js'
import {escapeLabel, renderMetrics} from '../../../src/status/metrics.js'
import {countVerdicts, verdictFor, type ServiceStatus, type StatusProbe, type StatusReport} from '../../../src/status/model.js'
import {cgroupDirs, cpuPercent, engineSample, statValue} from '../../../src/status/stats.js'
import {latency, renderStatus, screen, uptime} from '../../../src/ui/status-view.js'

beforeAll(() => {
  chalk.level = 0
})

const probe = (ok: boolean, extra: Partial<StatusProbe> = {}): StatusProbe => ({type: 'redis', source: 'image', target: '127.0.0.1:6379', ok, latencyMs: 1.5, detail: ok ? 'PONG' : null, error: ok ? null : 'no answer within 1.0s', ...extra})

describe('verdictFor', () => {
  it('trusts a failing probe over a stale "healthy" from Docker', () => {
    expect(verdictFor('running', 'healthy', probe(false))).toEqual({status: 'down', reason: 'probe failed: no answer within 1.0s'})
    expect(verdictFor('running', 'healthy', probe(true))).toEqual({status: 'healthy', reason: null})
    expect(verdictFor('running', null, probe(true))).toEqual({status: 'healthy', reason: null})
  })
  it('keeps Docker\'s "starting" and "unhealthy", and says why a service is not up', () => {
    expect(verdictFor('running', 'starting', probe(false))).toEqual({status: 'down', reason: "probe failed: no answer within 1.0s (Docker's healthcheck has not passed yet: it may still be starting)"})
    expect(verdictFor('running', 'starting', null).status).toBe('starting')
    expect(verdictFor('running', 'starting', probe(true)).status).toBe('healthy')
    expect(verdictFor('running', 'unhealthy', probe(true)).status).toBe('unhealthy')
    expect(verdictFor('running', 'unhealthy', null).status).toBe('unhealthy')
    expect(verdictFor('running', null, null, 'state only')).toEqual({status: 'healthy', reason: 'state only'})
    expect(verdictFor('restarting', null, null).status).toBe('down')
    expect(verdictFor('paused', null, null).status).toBe('down')
    expect(verdictFor('exited', null, null)).toEqual({status: 'stopped', reason: 'container exited'})
    expect(verdictFor('created', null, null).status).toBe('stopped')
    expect(verdictFor(null, null, null).status).toBe('missing')
  })
})

const listed: ListedContainer = {
  Id: 'a'.repeat(64),
  Names: ['/tta-redis-1'],
  Image: 'tta-standin/redis:local',
  Labels: {'com.docker.compose.service': 'redis'},
  State: 'running',
  Ports: [
    {IP: '0.0.0.0', PrivatePort: 6379, PublicPort: 6379, Type: 'tcp'},
    {IP: '::', PrivatePort: 6379, PublicPort: 6379, Type: 'tcp'},
    {PrivatePort: 16379, Type: 'tcp'},
  ],
}
const inspected: InspectedContainer = {
  Id: 'a'.repeat(64),
  Name: '/tta-redis-1',
  RestartCount: 2,
  State: {Status: 'running', Pid: 42, ExitCode: 0, StartedAt: '2026-11-21T22:46:13.016365177Z', FinishedAt: '0001-01-01T00:00:00Z', Health: {Status: 'healthy'}},
  Config: {Image: 'tta-standin/redis:local', Env: ['REDISCLI_AUTH=pw=with=equals', 'EMPTY'], Cmd: ['redis-server', '--requirepass', 'pw=with=equals'], Healthcheck: {Test: ['CMD-SHELL', 'redis-cli ping'], Timeout: 5e9}},
}

describe('reading containers', () => {
  it('counts an IPv4 and IPv6 binding of one port once, and keeps unpublished ports', () => {
    expect(publishedPorts(listed.Ports)).toEqual([
      {target: 6379, published: 6379, hostIp: '0.0.0.0', protocol: 'tcp'},
      {target: 16379, published: undefined, hostIp: undefined, protocol: 'tcp'},
    ])
  })
  it('reads probe facts off the container, recognising the stand-in through images:', () => {
    const facts = factsFromContainer('redis', listed, inspected, {'redis:7.2.4-alpine': 'tta-standin/redis:local', 'other:1': 'x'})
    expect(facts.images).toEqual(['tta-standin/redis:local', 'redis:7.2.4-alpine'])
    expect(facts.environment).toEqual({REDISCLI_AUTH: 'pw=with=equals', EMPTY: ''})
    expect(facts.healthcheck).toEqual({test: ['CMD-SHELL', 'redis-cli ping'], timeoutMs: 5000})
    expect(facts.command).toContain('--requirepass')
  })
  it('builds the same URLs tta dev prints', () => {
    expect(urlsFor('redis', publishedPorts(listed.Ports))).toEqual(['redis://localhost:6379'])
    expect(urlsFor('api', [{target: 8001, published: 18001, hostIp: '127.0.0.1', protocol: 'tcp'}])).toEqual(['http://localhost:18001'])
  })
  it('groups the bundled monitoring services as monitoring', () => {
    const monitoring = monitoringServices()
    expect([...monitoring].sort()).toEqual(['alertmanager', 'blackbox-exporter', 'cadvisor', 'grafana', 'loki', 'node-exporter', 'postgres-exporter', 'prometheus', 'promtail', 'redis-exporter'])
  })
})

describe('stats', () => {
  const id = 'cb47eceff5e0e9f6065463b57dcb4ab8b93e9d25706083fb535c7c1b182d3914'
  it('finds cgroup v1 and v2 directories, only when they name the container', () => {
    const v1 = `12:cpu,cpuacct:/docker/${id}\n4:memory:/docker/${id}\n0::/docker/${id}\n`
    expect(cgroupDirs(v1, id)).toEqual({version: 1, memory: `/sys/fs/cgroup/memory/docker/${id}`, cpu: `/sys/fs/cgroup/cpu,cpuacct/docker/${id}`})
    expect(cgroupDirs(`0::/system.slice/docker-${id}.scope\n`, id)).toEqual({version: 2, memory: `/sys/fs/cgroup/system.slice/docker-${id}.scope`, cpu: `/sys/fs/cgroup/system.slice/docker-${id}.scope`})
    // From another PID namespace the PID is someone else's process.
    expect(cgroupDirs('0::/user.slice/session-3.scope\n', id)).toBeUndefined()
  })
  it('reads stat files', () => {
    expect(statValue('cache 10\ntotal_inactive_file 4096\n', 'total_inactive_file')).toBe(4096)
    expect(statValue('usage_usec 1500\n', 'missing')).toBeUndefined()
  })
  it('computes CPU % between two samples, 100 being one core', () => {
    expect(cpuPercent({at: 0, cpuNanos: 0, source: 'cgroup'}, {at: 100, cpuNanos: 50e6, source: 'cgroup'})).toBe(50)
    expect(cpuPercent(undefined, {at: 100, cpuNanos: 50e6, source: 'cgroup'})).toBeUndefined()
    expect(cpuPercent({at: 0, cpuNanos: 0, source: 'cgroup'}, {at: 200, cpuNanos: 400e6, source: 'cgroup'})).toBe(200)
  })
  it("uses the engine's own sample pair and subtracts the page cache, as docker stats does", () => {
    const sample = engineSample({
      cpu_stats: {cpu_usage: {total_usage: 2_000_000_000}, system_cpu_usage: 20_000_000_000, online_cpus: 2},
      precpu_stats: {cpu_usage: {total_usage: 1_000_000_000}, system_cpu_usage: 10_000_000_000},
      memory_stats: {usage: 100_000_000, stats: {total_inactive_file: 30_000_000}},
    })
    expect(sample).toMatchObject({cpuPercent: 20, memoryBytes: 70_000_000, source: 'engine'})
    expect(engineSample({memory_stats: {usage: 5, stats: {inactive_file: 2}}})).toMatchObject({cpuPercent: undefined, memoryBytes: 3})
  })
})

function service(name: string, extra: Partial<ServiceStatus> = {}): ServiceStatus {
  return {
    service: name,
    group: 'core',
    status: 'healthy',
    reason: null,
    state: 'running',
    health: 'healthy',
    container: {id: 'abc', name: `tta-${name}-1`, number: 1, image: 'img'},
    startedAt: '2026-11-21T22:46:13Z',
    uptimeSeconds: 754,
    restarts: 0,
    exitCode: null,
    urls: [`http://localhost:8001`],
    probe: probe(true),
    cpuPercent: 1.25,
    memoryBytes: 9_100_000,
    memoryLimitBytes: null,
    ...extra,
  }
}

function report(services: ServiceStatus[]): StatusReport {
  const counts = countVerdicts(services)
  return {schemaVersion: 1, project: 'tta', engine: 'unix:///var/run/docker.sock', generatedAt: '2026-11-21T23:00:00Z', durationMs: 42, healthy: counts.healthy === counts.total && counts.total > 0, counts, services, endpoints: []}
}

describe('metrics', () => {
  it('exports tta_service_up for every service and the probe latency in seconds', () => {
    const text = renderMetrics(report([service('redis'), service('admin-api', {status: 'down', probe: probe(false, {type: 'http', latencyMs: 1000})}), service('worker', {status: 'stopped', state: 'exited', probe: null, uptimeSeconds: null})]))
    expect(text).toContain('# TYPE tta_service_up gauge')
    expect(text).toContain('tta_service_up{service="redis",group="core",project="tta",container="tta-redis-1"} 1')
    expect(text).toContain('tta_service_up{service="admin-api",group="core",project="tta",container="tta-admin-api-1"} 0')
    expect(text).toContain('tta_service_up{service="worker",group="core",project="tta",container="tta-worker-1"} 0')
    expect(text).toContain('tta_service_response_time_seconds{service="redis",group="core",project="tta",container="tta-redis-1",probe="redis"} 0.0015')
    expect(text).toContain('tta_service_response_time_seconds{service="admin-api",group="core",project="tta",container="tta-admin-api-1",probe="http"} 1')
    expect(text).not.toMatch(/response_time_seconds\{service="worker"/)
    expect(text.endsWith('\n')).toBe(true)
    // Every sample line is `name{labels} value`.
    for (const line of text.split('\n').filter((l) => l && !l.startsWith('#'))) expect(line).toMatch(/^[a-z_]+\{[^}]*\} -?[\d.e+-]+$/)
  })
  it('escapes label values', () => {
    expect(escapeLabel('a"b\\c\nd')).toBe('a\\"b\\\\c\\nd')
  })
})

describe('rendering', () => {
  it('formats uptime and latency compactly', () => {
    expect([uptime(null), uptime(5), uptime(754), uptime(3 * 3600 + 5 * 60), uptime(2 * 86400 + 4 * 3600)]).toEqual(['-', '5s', '12m', '3h05m', '2d04h'])
    expect([latency(1.234), latency(87.6), latency(1500)]).toEqual(['1.2ms', '88ms', '1.5s'])
  })
  it('prints core then monitoring, and names every problem with its reason', () => {
    const text = renderStatus(report([service('admin-api'), service('redis', {status: 'down', reason: 'probe failed: no answer within 1.0s', probe: probe(false)}), service('grafana', {group: 'monitoring'})]))
    const lines = text.split('\n')
    expect(lines[0]).toMatch(/^SERVICE\s+STATUS\s+STATE\s+UPTIME\s+RESTARTS\s+PROBE\s+LATENCY\s+CPU\s+MEM\s+URL$/)
    expect(lines[1]).toBe('CORE 1/2 healthy')
    expect(lines[2]).toMatch(/^admin-api\s+healthy\s+running, healthy\s+12m\s+0\s+redis PONG\s+1\.5ms\s+1\.3%\s+9\.1 MB\s+http:\/\/localhost:8001$/)
    expect(lines[3]).toMatch(/^redis\s+down\s+/)
    expect(lines[4]).toBe('MONITORING 1/1 healthy')
    expect(text).toContain('✖ redis: down - probe failed: no answer within 1.0s [127.0.0.1:6379]')
    expect(text).toContain('2/3 healthy (project tta')
  })
  it('says how to start the stack when nothing runs', () => {
    const text = renderStatus(report([service('redis', {status: 'stopped', state: 'exited', health: null, exitCode: 0, reason: 'container exited', probe: null, uptimeSeconds: null, cpuPercent: null, memoryBytes: null, urls: []})]))
    expect(text).toMatch(/^redis\s+stopped\s+exited \(0\)\s+-\s+0\s+-\s+-\s+-\s+-$/m)
    expect(text).toContain('nothing running, start with `tta dev`')
  })

  it('redraws in place: cursor home, every line cleared to its end, the rest of the screen cleared', () => {
    expect(screen.frame('a\nb', 0)).toBe('\u001B[Ha\u001B[K\nb\u001B[K\u001B[J')
    expect(screen.frame('1\n2\n3\n4', 3).split('\n')).toHaveLength(3)
  })
})

describe('scanServiceKeys', () => {
  it('reads the service keys of a block-style compose file, like the YAML parser', async () => {
    const text = 'x-anchor: &a {}\nservices:\n  # a comment\n  web:\n    image: x\n    ports:\n      - "80:80"\n  db:   # trailing\n    image: y\nvolumes:\n  data: {}\n'
    expect(scanServiceKeys(text)).toEqual(['web', 'db'])
    const bundled = readFileSync(MONITORING_FILE, 'utf8')
    expect(scanServiceKeys(bundled).sort()).toEqual([...(await declaredServices([MONITORING_FILE]))].sort())
  })
})
