// Swarm cannot bind a published port to an address (ingress and mode=host alike open it on every
// interface of every node): a swarm deployment refuses ports the compose files bind to one, naming
// where each is written, unless the target's exposePorts says to publish them everywhere.
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {loadProject} from '../../../src/compose/load.js'
import {refuseBoundSwarmPorts} from '../../../src/deploy/swarm-ports.js'
import {swarmServiceSpec} from '../../../src/deploy/swarm-spec.js'
import {InputError, InputErrors} from '../../../src/errors.js'
import {bundledComposeDir} from '../../../src/paths.js'
import {loadWorkspaceConfig} from '../../../src/workspace/config.js'
import type {DeployTarget} from '../../../src/workspace/deploy-config.js'
import {GENERATED_SECRETS} from '../../../src/workspace/secrets.js'

const SECRETS = Object.fromEntries(GENERATED_SECRETS.map((name) => [name, `s-${name.toLowerCase()}`]))

function swarmTarget(yaml = ''): DeployTarget {
  const dir = mkdtempSync(join(tmpdir(), 'tta-swarmports-'))
  writeFileSync(join(dir, 'tta.config.yaml'), `deploy:\n  staging:\n    type: swarm\n${yaml}`)
  return loadWorkspaceConfig(dir).deploy?.staging as DeployTarget
}

function thrown(fn: () => void): InputError[] {
  try {
    fn()
  } catch (error) {
    if (error instanceof InputErrors) return error.errors
    if (error instanceof InputError) return [error]
    throw error
  }
  return []
}

describe('swarm deploy and ports bound to an address', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tta-swarmports-'))
  const file = join(dir, 'compose.yml')
  writeFileSync(
    file,
    [
      'services:',
      '  db:',
      '    image: postgres:16',
      '    ports:',
      '      - "127.0.0.1:5432:5432"',
      '  api:',
      '    image: api:1',
      '    ports:',
      '      - target: 8000',
      '        published: "8000"',
      '        host_ip: 10.0.0.5',
      '      - "9000:9000"',
      '  web:',
      '    image: web:1',
      '    ports: ["0.0.0.0:80:80"]',
      '',
    ].join('\n'),
  )
  const loaded = loadProject({files: [file], projectName: 'p', environment: {}, envFiles: []})

  it('refuses each one with exit 2, naming file:line:column, the service and the fix; wildcard binds pass', () => {
    const errors = thrown(() => refuseBoundSwarmPorts(loaded, swarmTarget()))
    expect(errors.map((e) => e.message)).toEqual([
      expect.stringMatching(new RegExp(`^${file}:9:9: services\\.api\\.ports\\[0\\]: 10\\.0\\.0\\.5:8000:8000 cannot be honoured by swarm target staging: swarm publishes on every interface of every node \\(ingress and mode=host alike cannot bind an address\\)$`)),
      expect.stringMatching(new RegExp(`^${file}:5:9: services\\.db\\.ports\\[0\\]: 127\\.0\\.0\\.1:5432:5432 cannot be honoured .*, so a port meant for this machine only would be open to the network$`)),
    ])
    expect(errors.every((e) => e.exitCode === 2)).toBe(true)
    expect(errors[0]?.hint).toContain('deploy.staging.exposePorts: true')
  })

  it('exposePorts: true publishes them all; a list only those services', () => {
    expect(thrown(() => refuseBoundSwarmPorts(loaded, swarmTarget('    exposePorts: true\n')))).toEqual([])
    expect(thrown(() => refuseBoundSwarmPorts(loaded, swarmTarget('    exposePorts: [db]\n'))).map((e) => e.keyPath)).toEqual(['services.api.ports[0]'])
    expect(thrown(() => refuseBoundSwarmPorts(loaded, swarmTarget('    exposePorts: false\n'))).length).toBe(2)
  })

  it('an exposed port is published with a note saying host_ip is not honoured', () => {
    const spec = swarmServiceSpec({loaded, stack: 'p', apiVersion: '1.45', images: {}, replicas: {}, nodes: 1, files: []}, 'db')
    expect(spec.spec.EndpointSpec?.Ports).toEqual([expect.objectContaining({TargetPort: 5432, PublishedPort: 5432})])
    expect(spec.notes.join('\n')).toContain('host_ip 127.0.0.1 cannot be honoured by swarm')
  })

  it('the bundled staging overlay on a swarm target is refused: redis, postgres, neo4j... bound to 127.0.0.1', () => {
    const bundled = loadProject({files: [join(bundledComposeDir, 'docker-compose.yml'), join(bundledComposeDir, 'docker-compose.staging.yml')], projectName: 'p', environment: {TTA_WORKSPACE: '/w', ...SECRETS}, envFiles: []})
    const errors = thrown(() => refuseBoundSwarmPorts(bundled, swarmTarget()))
    expect(errors.map((e) => e.keyPath)).toEqual(expect.arrayContaining(['services.redis.ports[0]', 'services.postgres.ports[0]', 'services.neo4j.ports[0]']))
    const redis = errors.find((e) => e.keyPath === 'services.redis.ports[0]')
    expect(redis?.position?.file).toBe(join(bundledComposeDir, 'docker-compose.yml'))
  })

  it('exposePorts is read from tta.config.yaml: swarm only, true/false or a list of services', () => {
    expect(swarmTarget('    exposePorts: [db, api]\n').exposePorts).toEqual(['db', 'api'])
    expect(swarmTarget().exposePorts).toBeUndefined()
    expect(() => swarmTarget('    exposePorts: yes please\n')).toThrow(/deploy\.staging\.exposePorts: must be true, false, or a list of service names/)
    const dir2 = mkdtempSync(join(tmpdir(), 'tta-swarmports-'))
    writeFileSync(join(dir2, 'tta.config.yaml'), 'deploy:\n  staging:\n    type: compose\n    exposePorts: true\n')
    expect(() => loadWorkspaceConfig(dir2)).toThrow(/4:5: deploy\.staging\.exposePorts: exposePorts is for swarm targets/)
  })
})
