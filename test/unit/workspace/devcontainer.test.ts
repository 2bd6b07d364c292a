import {describe, expect, it} from 'vitest'

import type {Project} from '../../../src/compose/model.js'
import {detectContainer, toHostPath, translateBindSources, type HostContext} from '../../../src/workspace/devcontainer.js'

const mappings = [
  {container: '/workspaces/tta', host: '/home/me/src/tta'},
  {container: '/opt/tta', host: '/home/me/tools/tta'},
]

describe('toHostPath', () => {
  it('maps paths under a mount, and only those', () => {
    expect(toHostPath('/workspaces/tta', mappings)).toBe('/home/me/src/tta')
    expect(toHostPath('/workspaces/tta/services/api/app', mappings)).toBe('/home/me/src/tta/services/api/app')
    expect(toHostPath('/workspaces/tta-other/x', mappings)).toBeUndefined()
    expect(toHostPath('/etc/passwd', mappings)).toBeUndefined()
  })
})

describe('detectContainer', () => {
  it('reads the environment and the cgroup', () => {
    expect(detectContainer({REMOTE_CONTAINERS: 'true'}, () => undefined).evidence).toContain('REMOTE_CONTAINERS')
    expect(detectContainer({}, () => '0::/docker/0123abcd\n').evidence).toContain('cgroup')
  })
})

describe('translateBindSources', () => {
  const project: Project = {
    name: 'p',
    networks: {},
    volumes: {},
    services: {
      api: {
        name: 'api',
        command: null,
        entrypoint: null,
        volumes: [
          {type: 'bind', source: '/workspaces/tta/services/api/app', target: '/app/app'},
          {type: 'bind', source: '/var/run/docker.sock', target: '/var/run/docker.sock'},
          {type: 'volume', source: 'data', target: '/data'},
        ],
      },
    },
  }
  const outside: HostContext = {detection: {inContainer: true, evidence: ['/.dockerenv']}, engineIsOutside: true, mappings, via: 'container mounts'}

  it('rewrites sources under the workspace and leaves host paths alone', () => {
    const result = translateBindSources(project, outside, ['/workspaces/tta', '/opt/tta/compose'])
    expect(result.services.api?.volumes?.map((v) => v.source)).toEqual(['/home/me/src/tta/services/api/app', '/var/run/docker.sock', 'data'])
  })

  it('changes nothing when the engine sees the same filesystem', () => {
    expect(translateBindSources(project, {...outside, engineIsOutside: false}, ['/workspaces/tta'])).toBe(project)
  })

  it('refuses a workspace path no shared mount covers, with exit 2 and the fix', () => {
    expect(() => translateBindSources(project, {...outside, mappings: [], via: 'none'}, ['/workspaces/tta'])).toThrow(
      expect.objectContaining({exitCode: 2, hint: expect.stringContaining('LOCAL_WORKSPACE_FOLDER')}),
    )
  })
})
