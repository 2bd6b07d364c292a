import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {InputErrors} from '../../../src/errors.js'
import {loadWorkspaceConfig} from '../../../src/workspace/config.js'

const temp = (): string => mkdtempSync(join(tmpdir(), 'tta-deploycfg-'))

describe('tta.config.yaml deploy:', () => {
  it('reads compose and swarm targets with their defaults', () => {
    const dir = temp()
    writeFileSync(join(dir, 'prod.yml'), 'services: {}\n')
    writeFileSync(
      join(dir, 'tta.config.yaml'),
      [
        'deploy:',
        '  staging: {type: compose, host: "ssh://deploy@staging", registry: reg.example.com:5000/tta}',
        '  production:',
        '    type: swarm',
        '    host: tcp://prod:2376',
        '    registry: 127.0.0.1:5000',
        '    files: [prod.yml]',
        '    backupFirst: true',
        '    replicas: {admin-api: 2}',
        '    publishMode: host',
        '    timeout: 120',
        '',
      ].join('\n'),
    )
    const config = loadWorkspaceConfig(dir)
    expect(config.deploy?.staging).toMatchObject({name: 'staging', type: 'compose', host: 'ssh://deploy@staging', registry: 'reg.example.com:5000/tta', confirm: false, backupFirst: false, timeout: 300, replicas: {}})
    expect(config.deploy?.production).toMatchObject({
      type: 'swarm',
      registry: '127.0.0.1:5000',
      files: [join(dir, 'prod.yml')],
      confirm: true,
      backupFirst: true,
      replicas: {'admin-api': 2},
      publishMode: 'host',
      timeout: 120,
    })
  })
  it('names file:line:column and the key for every problem', () => {
    const dir = temp()
    const file = join(dir, 'tta.config.yaml')
    writeFileSync(
      file,
      [
        'deploy:',
        '  staging:',
        '    type: kubernetes',
        '    host: staging.example.com',
        '    registry: https://reg.example.com',
        '    replicas: {api: 2}',
        '    color: blue',
        '  production:',
        '    type: swarm',
        '    confirm: "yes"',
        '    timeout: 0',
        '    files: [missing.yml]',
        '    replicas: {api: -1}',
        '  Bad Name: {type: swarm}',
        '  nothing: {}',
        '',
      ].join('\n'),
    )
    try {
      loadWorkspaceConfig(dir)
      expect.unreachable()
    } catch (error) {
      expect(error).toBeInstanceOf(InputErrors)
      const message = (error as InputErrors).message
      expect(message).toContain(`${file}:3:11: deploy.staging.type: must be one of compose, swarm (got "kubernetes")`)
      expect(message).toContain(`${file}:4:11: deploy.staging.host: must be a Docker host URL`)
      expect(message).toContain(`${file}:5:15: deploy.staging.registry: write the registry without a scheme`)
      expect(message).toContain(`${file}:7:5: deploy.staging.color: unknown key "color"`)
      expect(message).toContain(`${file}:10:14: deploy.production.confirm: must be true or false`)
      expect(message).toContain(`${file}:11:14: deploy.production.timeout: must be a whole number`)
      expect(message).toContain(`${file}:12:13: deploy.production.files[0]: file not found`)
      expect(message).toContain(`${file}:13:21: deploy.production.replicas.api: must be a whole number of replicas`)
      expect(message).toContain(`${file}:14:3: deploy.Bad Name: target names are lowercase`)
      expect(message).toContain(`${file}:15:3: deploy.nothing: missing \`type:\``)
    }
  })
  it('refuses swarm-only settings on a compose target', () => {
    const dir = temp()
    writeFileSync(join(dir, 'tta.config.yaml'), 'deploy:\n  staging:\n    type: compose\n    replicas: {api: 2}\n    publishMode: host\n')
    expect(() => loadWorkspaceConfig(dir)).toThrow(/4:5: deploy\.staging\.replicas: replicas are for swarm targets[\s\S]*5:5: deploy\.staging\.publishMode/)
  })
  it('reads identityFile for ssh:// hosts (relative to the workspace, ~ expanded) and refuses it elsewhere or missing', () => {
    const dir = temp()
    writeFileSync(join(dir, 'deploy_key'), 'key\n')
    writeFileSync(join(dir, 'tta.config.yaml'), 'deploy:\n  staging:\n    type: compose\n    host: ssh://deploy@staging:2222\n    identityFile: deploy_key\n')
    expect(loadWorkspaceConfig(dir).deploy?.staging).toMatchObject({host: 'ssh://deploy@staging:2222', identityFile: join(dir, 'deploy_key')})
    const file = join(dir, 'tta.config.yaml')
    writeFileSync(file, 'deploy:\n  a:\n    type: compose\n    host: tcp://prod:2376\n    identityFile: deploy_key\n  b:\n    type: swarm\n    host: ssh://x@y\n    identityFile: ~/no/such/key-tta\n')
    expect(() => loadWorkspaceConfig(dir)).toThrow(/5:5: deploy\.a\.identityFile: identityFile is for ssh:\/\/ hosts[\s\S]*9:19: deploy\.b\.identityFile: file not found: .*\/no\/such\/key-tta/)
  })
})
