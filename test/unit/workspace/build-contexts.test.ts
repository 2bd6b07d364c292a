import {mkdirSync, mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import type {Project, Service} from '../../../src/compose/model.js'
import {missingBuildContexts, refuseMissingBuildContexts} from '../../../src/workspace/build-contexts.js'

function project(services: Record<string, Partial<Service>>): Project {
  return {name: 'p', services: Object.fromEntries(Object.entries(services).map(([name, s]) => [name, {name, ...s} as Service])), networks: {}, volumes: {}} as unknown as Project
}

describe('build contexts', () => {
  const root = mkdtempSync(join(tmpdir(), 'tta-ctx-'))
  mkdirSync(join(root, 'api'))
  writeFileSync(join(root, 'file'), 'not a directory\n')
  const p = project({
    api: {build: {context: join(root, 'api')}, depends_on: {db: {condition: 'service_started', required: true}}},
    web: {build: {context: join(root, 'web')}},
    db: {build: {context: join(root, 'file')}},
    cache: {image: 'redis:7'},
    remote: {build: {context: 'https://github.com/example/repo.git#main'}},
  })

  it('lists the services (and their dependencies) whose context is not a directory here', () => {
    expect(missingBuildContexts(p)).toEqual([
      {service: 'db', context: join(root, 'file')},
      {service: 'web', context: join(root, 'web')},
    ])
    expect(missingBuildContexts(p, ['api'])).toEqual([{service: 'db', context: join(root, 'file')}])
    expect(missingBuildContexts(p, ['cache', 'remote'])).toEqual([])
  })

  it('refuses with exit 2, naming the workspace, the services and the fix', () => {
    expect(() => refuseMissingBuildContexts(p, [], root, 'full')).toThrow(
      expect.objectContaining({
        exitCode: 2,
        message: `${root} does not look like a TTA checkout: the build context of db (${join(root, 'file')}), web (${join(root, 'web')}) are missing; nothing was pulled, built or created`,
        hint: expect.stringContaining('services without a build can run alone (tta full cache)'),
      }),
    )
    expect(() => refuseMissingBuildContexts(p, ['cache'], root)).not.toThrow()
  })
})
