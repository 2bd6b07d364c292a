import {mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {InputError, InputErrors} from '../../../src/errors.js'
import {loadWorkspaceConfig} from '../../../src/workspace/config.js'
import {bundledFilesFor} from '../../../src/workspace/project.js'
import {assignedNames, ensureSecrets, GENERATED_SECRETS} from '../../../src/workspace/secrets.js'
import {findWorkspaceRoot} from '../../../src/workspace/workspace.js'

const temp = (): string => mkdtempSync(join(tmpdir(), 'tta-ws-'))

describe('findWorkspaceRoot', () => {
  it('prefers --workspace, then tta.config.yaml, then the git root, then cwd', () => {
    const root = temp()
    mkdirSync(join(root, '.git'))
    mkdirSync(join(root, 'app', 'sub', 'deep'), {recursive: true})
    writeFileSync(join(root, 'app', 'tta.config.yaml'), 'projectName: x\n')
    expect(findWorkspaceRoot(join(root, 'app', 'sub', 'deep'))).toEqual({root: join(root, 'app'), foundBy: 'config'})
    expect(findWorkspaceRoot(root)).toEqual({root, foundBy: 'git'})
    expect(findWorkspaceRoot(root, 'app/sub')).toEqual({root: join(root, 'app', 'sub'), foundBy: 'flag'})
    const bare = temp()
    expect(findWorkspaceRoot(bare)).toEqual({root: bare, foundBy: 'cwd'})
  })
  it('rejects a --workspace that does not exist with exit code 2', () => {
    expect(() => findWorkspaceRoot(temp(), 'nope')).toThrow(expect.objectContaining({exitCode: 2}))
  })
})

describe('loadWorkspaceConfig', () => {
  it('reads images, composeFiles and projectName', () => {
    const dir = temp()
    writeFileSync(join(dir, 'extra.yml'), 'services: {}\n')
    writeFileSync(join(dir, 'tta.config.yaml'), 'projectName: mine\nimages:\n  redis:7: local/redis:1\ncomposeFiles:\n  - extra.yml\n')
    expect(loadWorkspaceConfig(dir)).toEqual({file: join(dir, 'tta.config.yaml'), projectName: 'mine', images: {'redis:7': 'local/redis:1'}, composeFiles: [join(dir, 'extra.yml')]})
  })
  it('is optional', () => {
    expect(loadWorkspaceConfig(temp())).toEqual({images: {}, composeFiles: []})
  })
  it('names file:line:column and the key for every problem', () => {
    const dir = temp()
    writeFileSync(join(dir, 'tta.config.yaml'), 'projectName: Bad Name\nimagez: {}\ncomposeFiles:\n  - missing.yml\n')
    try {
      loadWorkspaceConfig(dir)
      expect.unreachable()
    } catch (error) {
      expect(error).toBeInstanceOf(InputErrors)
      const message = (error as InputErrors).message
      expect(message).toContain(`${join(dir, 'tta.config.yaml')}:1:14: projectName:`)
      expect(message).toContain(`${join(dir, 'tta.config.yaml')}:2:1: imagez: unknown key`)
      expect(message).toContain(`${join(dir, 'tta.config.yaml')}:4:5: composeFiles[0]: file not found`)
    }
  })
  it('reports YAML syntax errors with a position', () => {
    const dir = temp()
    writeFileSync(join(dir, 'tta.config.yaml'), 'images:\n  a: "unclosed\n')
    expect(() => loadWorkspaceConfig(dir)).toThrow(InputError)
    expect(() => loadWorkspaceConfig(dir)).toThrow(/tta\.config\.yaml:\d+:\d+: invalid YAML/)
  })
})

describe('ensureSecrets', () => {
  it('generates missing secrets into a 0600 .env and never rewrites existing lines', () => {
    const dir = temp()
    const envFile = join(dir, '.env')
    writeFileSync(envFile, '# mine\nTTA_REDIS_PASSWORD=keep-me')
    const first = ensureSecrets(envFile, {})
    expect(first.generated).toEqual(GENERATED_SECRETS.filter((s) => s !== 'TTA_REDIS_PASSWORD'))
    const text = readFileSync(envFile, 'utf8')
    expect(text.startsWith('# mine\nTTA_REDIS_PASSWORD=keep-me\n')).toBe(true)
    expect(statSync(envFile).mode & 0o777).toBe(0o600)
    for (const name of GENERATED_SECRETS) expect(assignedNames(text).has(name)).toBe(true)
    expect(text).not.toMatch(/=admin$/m)
    expect(ensureSecrets(envFile, {}).generated).toEqual([])
    expect(readFileSync(envFile, 'utf8')).toBe(text)
  })
  it('reads .env as Compose does: a secret written as KEY: value, exported or quoted counts as set', () => {
    const envFile = join(temp(), '.env')
    writeFileSync(envFile, 'TTA_REDIS_PASSWORD: colon-form\nexport TTA_POSTGRES_PASSWORD=exported\nTTA_NEO4J_PASSWORD="multi\nline"\n')
    expect(assignedNames(readFileSync(envFile, 'utf8'))).toEqual(new Set(['TTA_REDIS_PASSWORD', 'TTA_POSTGRES_PASSWORD', 'TTA_NEO4J_PASSWORD']))
    expect(ensureSecrets(envFile, {}).generated).toEqual(['TTA_GRAFANA_ADMIN_PASSWORD'])
  })
  it('leaves secrets set in the environment to the environment', () => {
    const envFile = join(temp(), '.env')
    expect(ensureSecrets(envFile, {TTA_REDIS_PASSWORD: 'x', TTA_POSTGRES_PASSWORD: 'y', TTA_NEO4J_PASSWORD: 'z', TTA_GRAFANA_ADMIN_PASSWORD: 'w'}).generated).toEqual([])
  })
})

describe('bundledFilesFor', () => {
  it('maps modes to bundled files in merge order', () => {
    const names = (files: string[]) => files.map((f) => f.split('/').pop())
    expect(names(bundledFilesFor('dev'))).toEqual(['docker-compose.yml', 'docker-compose.hotreload.yml'])
    expect(names(bundledFilesFor('dev', {hotReload: false}))).toEqual(['docker-compose.yml'])
    expect(names(bundledFilesFor('monitoring'))).toEqual(['docker-compose.monitoring.yml'])
    expect(names(bundledFilesFor('full'))).toEqual(['docker-compose.yml', 'docker-compose.hotreload.yml', 'docker-compose.monitoring.yml'])
  })
})
