import {describe, expect, it} from 'vitest'

import {apiBase, firingAlerts, graphPositions, hostSideUrl, isNewFailure, maskSecrets, modeOf, monitoringLinks} from '../../../src/dashboard/derive.js'
import type {ServiceStatus, StatusReport} from '../../../src/status/model.js'

const DEPENDS = 'com.docker.compose.depends_on'
const FILES = 'com.docker.compose.project.config_files'

function status(partial: Partial<ServiceStatus>): ServiceStatus {
  return {
    service: 'redis', group: 'core', status: 'healthy', reason: null, state: 'running', health: null, container: null, startedAt: null,
    uptimeSeconds: null, restarts: 0, exitCode: null, urls: [], probe: null, cpuPercent: null, memoryBytes: null, memoryLimitBytes: null,
    ...partial,
  }
}

describe('graphPositions', () => {
  it('levels, dependencies and dependents from the depends_on labels', () => {
    const graph = graphPositions([
      {service: 'redis', labels: {}},
      {service: 'postgres', labels: {}},
      {service: 'admin-api', labels: {[DEPENDS]: 'redis:service_healthy:false,postgres:service_healthy:false'}},
      {service: 'frontend', labels: {[DEPENDS]: 'admin-api:service_started:false'}},
    ])
    expect(graph.redis).toEqual({level: 0, dependsOn: [], dependents: ['admin-api']})
    expect(graph['admin-api']).toEqual({level: 1, dependsOn: ['postgres', 'redis'], dependents: ['frontend']})
    expect(graph.frontend).toEqual({level: 2, dependsOn: ['admin-api'], dependents: []})
  })

  it('a dependency without a container does not hold its dependent back', () => {
    const graph = graphPositions([{service: 'api', labels: {[DEPENDS]: 'gone:service_started:false'}}])
    expect(graph.api).toEqual({level: 0, dependsOn: ['gone'], dependents: []})
  })

  it('puts a cycle (hand-made labels) on one level instead of failing', () => {
    const graph = graphPositions([
      {service: 'a', labels: {[DEPENDS]: 'b:service_started:false'}},
      {service: 'b', labels: {[DEPENDS]: 'a:service_started:false'}},
    ])
    expect(graph.a?.level).toBe(0)
    expect(graph.b?.dependents).toEqual(['a'])
  })
})

describe('modeOf', () => {
  const c = (files: string) => ({[FILES]: files})
  it('tells dev, monitoring, full and custom from the compose files the containers came from', () => {
    expect(modeOf([c('/p/compose/docker-compose.yml,/p/compose/docker-compose.hotreload.yml')])).toEqual({mode: 'dev', hotReload: true})
    expect(modeOf([c('/p/compose/docker-compose.yml')])).toEqual({mode: 'dev', hotReload: false})
    expect(modeOf([c('/p/compose/docker-compose.monitoring.yml')])).toEqual({mode: 'monitoring', hotReload: false})
    // `tta dev` then `tta monitoring`: each container has its own files, together they are full.
    expect(modeOf([c('/p/compose/docker-compose.yml'), c('/p/compose/docker-compose.monitoring.yml')]).mode).toBe('full')
    expect(modeOf([c('/ws/my-compose.yml')]).mode).toBe('custom')
    expect(modeOf([]).mode).toBe('none')
  })
})

describe('isNewFailure', () => {
  it('records a service going from fine to not, a restart by itself, and one broken when first seen', () => {
    const seen = {status: 'healthy' as const, restarts: 0, startedAt: 't1'}
    expect(isNewFailure(seen, status({status: 'stopped', state: 'exited'}))).toBe(true)
    expect(isNewFailure(seen, status({status: 'down'}))).toBe(true)
    expect(isNewFailure(seen, status({restarts: 1}))).toBe(true)
    expect(isNewFailure(undefined, status({status: 'unhealthy'}))).toBe(true)
  })

  it('does not record the same failure twice, a healthy service, a starting one, or a missing one', () => {
    expect(isNewFailure({status: 'stopped', restarts: 0, startedAt: null}, status({status: 'stopped'}))).toBe(false)
    expect(isNewFailure({status: 'healthy', restarts: 0, startedAt: null}, status({}))).toBe(false)
    expect(isNewFailure(undefined, status({status: 'starting'}))).toBe(false)
    expect(isNewFailure({status: 'healthy', restarts: 0, startedAt: null}, status({status: 'missing'}))).toBe(false)
  })
})

describe('maskSecrets', () => {
  it('masks every occurrence of each secret of 4 characters or more', () => {
    expect(maskSecrets('redis://:s3cretpw@redis:6379 and s3cretpw again', ['s3cretpw'])).toBe('redis://:••••••@redis:6379 and •••••• again')
    expect(maskSecrets('abc is short', ['abc'])).toBe('abc is short')
    expect(maskSecrets('nothing here', [])).toBe('nothing here')
  })
})

describe('monitoring', () => {
  it('links the monitoring tools that run, at their http URL', () => {
    const report = {services: [status({service: 'grafana', urls: ['http://localhost:3001']}), status({service: 'prometheus', state: 'exited', urls: ['http://localhost:9090']}), status({service: 'redis', urls: ['redis://localhost:6379']})]} as StatusReport
    expect(monitoringLinks(report)).toEqual({grafana: 'http://localhost:3001'})
    expect(hostSideUrl('http://localhost:9093')).toBe('http://127.0.0.1:9093')
    // The API is asked where the probe reached it (the container's address here), else at the published port.
    const probed = status({service: 'alertmanager', probe: {type: 'http', source: 'healthcheck', target: 'http://172.20.0.5:9093/-/ready', ok: true, latencyMs: 1, detail: null, error: null}})
    expect(apiBase(probed, 'http://localhost:9093')).toBe('http://172.20.0.5:9093')
    expect(apiBase(status({service: 'alertmanager'}), 'http://localhost:9093')).toBe('http://127.0.0.1:9093')
  })

  it("reads Alertmanager's v2 alert list, newest first, active ones only", () => {
    const alerts = firingAlerts([
      {labels: {alertname: 'Old', severity: 'warning'}, annotations: {summary: 'older'}, startsAt: '2026-01-01T00:00:00Z', status: {state: 'active'}},
      {labels: {alertname: 'New'}, annotations: {description: 'newer'}, startsAt: '2026-01-02T00:00:00Z', status: {state: 'active'}},
      {labels: {alertname: 'Quiet'}, startsAt: '2026-01-03T00:00:00Z', status: {state: 'suppressed'}},
    ])
    expect(alerts.map((a) => [a.name, a.severity, a.summary])).toEqual([['New', null, 'newer'], ['Old', 'warning', 'older']])
    expect(() => firingAlerts({error: 'x'})).toThrow(/list of alerts/)
  })
})
