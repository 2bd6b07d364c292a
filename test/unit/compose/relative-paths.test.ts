import {describe, expect, it} from 'vitest'

import {absolutePath, isRemoteContext, resolveRelativePaths} from '../../../src/compose/relative-paths.js'
import {parseYamlDocuments, type PMap, toPlain} from '../../../src/compose/tree.js'
import {canonicalize} from '../../../src/compose/merge.js'

function tree(text: string): PMap {
  const t = parseYamlDocuments(text, '/x/lib/compose.yaml')[0] as PMap
  canonicalize(t, [])
  return t
}

describe('relative paths of an extended or included file', () => {
  it('leaves absolute, home-relative and empty paths alone', () => {
    expect(absolutePath('/abs', '/x/lib')).toBe('/abs')
    expect(absolutePath('~/h', '/x/lib')).toBe('~/h')
    expect(absolutePath('', '/x/lib')).toBe('')
    expect(absolutePath('./a/../b', '/x/lib')).toBe('/x/lib/b')
  })

  it('knows remote build contexts', () => {
    for (const c of ['https://github.com/a/b.git', 'git@github.com:a/b', 'github.com/a/b', 'docker-image://alpine', 'ssh://h/r']) {
      expect(isRemoteContext(c)).toBe(true)
    }
    expect(isRemoteContext('./ctx')).toBe(false)
  })

  it('rewrites build contexts, env files, bind sources, extends files, watch paths, config and secret files', () => {
    const t = tree(`
services:
  s:
    build: {context: ./ctx, additional_contexts: {more: ../more, img: docker-image://alpine}}
    env_file: [a.env, {path: ./b.env, required: false}]
    volumes: ["./data:/data:ro,z", "named:/n", "/abs:/abs", "~/h:/h", {type: bind, source: src, target: /s}, {type: volume, source: v, target: /v}]
    extends: {file: ../base.yaml, service: b}
    develop: {watch: [{path: ./app, action: sync, target: /app}]}
  r:
    build: https://github.com/a/b.git
configs:
  c: {file: ./c.txt}
secrets:
  s: {file: s.txt}
volumes:
  dev: {driver: local, driver_opts: {type: none, o: bind, device: ./dev}}
  here: {driver: local, driver_opts: {o: bind, device: ""}}
`)
    resolveRelativePaths(t, '/x/lib', {defaultBuildContext: false})
    expect(toPlain(t)).toMatchObject({
      services: {
        s: {
          build: {context: '/x/lib/ctx', additional_contexts: {more: '/x/more', img: 'docker-image://alpine'}},
          env_file: ['/x/lib/a.env', {path: '/x/lib/b.env', required: false}],
          volumes: [
            '/x/lib/data:/data:ro,z',
            'named:/n',
            '/abs:/abs',
            '~/h:/h',
            {type: 'bind', source: '/x/lib/src', target: '/s'},
            {type: 'volume', source: 'v', target: '/v'},
          ],
          extends: {file: '/x/base.yaml', service: 'b'},
          develop: {watch: [{path: '/x/lib/app'}]},
        },
        r: {build: {context: 'https://github.com/a/b.git'}},
      },
      configs: {c: {file: '/x/lib/c.txt'}},
      secrets: {s: {file: '/x/lib/s.txt'}},
      volumes: {dev: {driver_opts: {device: '/x/lib/dev'}}, here: {driver_opts: {device: '/x/lib'}}},
    })
  })

  it('gives an included build without a context the file\'s directory', () => {
    const t = tree('services:\n  s: {build: {dockerfile: D}}\n')
    resolveRelativePaths(t, '/x/lib', {defaultBuildContext: true})
    expect(toPlain(t)).toEqual({services: {s: {build: {dockerfile: 'D', context: '/x/lib'}}}})
  })
})
