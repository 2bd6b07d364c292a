import {mkdirSync, mkdtempSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {beforeEach, describe, expect, it} from 'vitest'

import {loadProject} from '../../../src/compose/load.js'
import {errorsOf} from './support.js'

let dir: string

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'tta-include-'))
})

function load(
  files: Record<string, string>,
  main: string[] = ['compose.yaml'],
  environment: Record<string, string> = {HOME: '/root'},
): ReturnType<typeof loadProject> {
  for (const [name, text] of Object.entries(files)) {
    const file = path.join(dir, name)
    mkdirSync(path.dirname(file), {recursive: true})
    writeFileSync(file, text)
  }
  return loadProject({files: main.map((f) => path.join(dir, f)), environment, envFiles: []})
}

describe('include', () => {
  it('imports services, networks and volumes; paths and .env are the included project\'s own', () => {
    const {project} = load({
      'compose.yaml': `
include: [lib/compose.yaml]
services:
  web: {image: "web:\${TAG:-none}", depends_on: [api], networks: [back], volumes: [data:/data]}
`,
      'lib/compose.yaml': `
services:
  api:
    image: "api:\${TAG}"
    build: {dockerfile: Dockerfile.api}
    volumes: [./src:/src]
    networks: [back]
networks:
  back: {}
volumes:
  data: {}
`,
      'lib/.env': 'TAG=1.2\n',
    })
    expect(Object.keys(project.services).sort()).toEqual(['api', 'web'])
    // The included project's .env is its own; the including file does not see it.
    expect(project.services.web?.image).toBe('web:none')
    expect(project.services.api?.image).toBe('api:1.2')
    // A build without a context builds the included file's directory.
    expect(project.services.api?.build?.context).toBe(path.join(dir, 'lib'))
    expect(project.services.api?.volumes?.[0]?.source).toBe(path.join(dir, 'lib/src'))
    expect(Object.keys(project.networks)).toContain('back')
    expect(Object.keys(project.volumes)).toEqual(['data'])
  })

  it('takes the long form: a list of paths merged as overlays, env_file and project_directory', () => {
    const {project} = load({
      'compose.yaml': `
include:
  - path: [lib/compose.yaml, lib/override.yaml]
    env_file: [vars.env]
    project_directory: proj
`,
      'vars.env': 'TAG=from-env-file\nX=x1\n',
      'lib/compose.yaml': 'services:\n  api: {image: "api:${TAG}", build: ./ctx, environment: [A=1]}\n',
      'lib/override.yaml': 'services:\n  api: {environment: ["X=${X}"]}\n',
    })
    const api = project.services.api
    expect(api?.image).toBe('api:from-env-file')
    expect(api?.environment).toEqual({A: '1', X: 'x1'})
    // With a project_directory that does not exist, Compose resolves the included files' paths
    // against the including project's directory; with one that exists, against it.
    expect(api?.build?.context).toBe(path.join(dir, 'ctx'))
    mkdirSync(path.join(dir, 'proj'))
    const again = loadProject({files: [path.join(dir, 'compose.yaml')], environment: {HOME: '/root'}, envFiles: []})
    expect(again.project.services.api?.build?.context).toBe(path.join(dir, 'proj/ctx'))
  })

  it('lets the including environment win over the included env files', () => {
    const {project} = load(
      {
        'compose.yaml': 'include: [{path: lib.yaml, env_file: lib.env}]\n',
        'lib.yaml': 'services:\n  api: {image: "api:${TAG}"}\n',
        'lib.env': 'TAG=file\n',
      },
      ['compose.yaml'],
      {TAG: 'shell'},
    )
    expect(project.services.api?.image).toBe('api:shell')
  })

  it('lets a later -f file override an included service', () => {
    const {project} = load(
      {
        'compose.yaml': 'include: [lib.yaml]\n',
        'lib.yaml': 'services:\n  api: {image: api:1, environment: {A: "1"}}\n',
        'override.yaml': 'services:\n  api: {environment: {B: "2"}}\n',
      },
      ['compose.yaml', 'override.yaml'],
    )
    expect(project.services.api?.environment).toEqual({A: '1', B: '2'})
  })

  it('accepts a resource defined identically on both sides, refuses a conflicting one with file:line', () => {
    expect(
      Object.keys(
        load({
          'compose.yaml': 'include: [lib.yaml]\nservices:\n  web: {image: web}\nvolumes:\n  data: {}\n',
          'lib.yaml': 'services:\n  api: {image: api, volumes: [data:/d]}\nvolumes:\n  data: {}\n',
        }).project.volumes,
      ),
    ).toEqual(['data'])
    const errors = errorsOf(() =>
      load({
        'compose.yaml': 'include: [lib.yaml]\nservices:\n  api: {image: api:2}\n',
        'lib.yaml': 'services:\n  api: {image: api:1}\n',
      }),
    )
    expect(errors).toEqual([
      `${path.join(dir, 'compose.yaml')}:3:3: services.api: conflicts with the definition included from lib.yaml (${path.join(dir, 'lib.yaml')}:2); only identical definitions may meet`,
    ])
  })

  it('refuses a cycle and a missing file, naming the include entry', () => {
    const cycle = errorsOf(() =>
      load({
        'compose.yaml': 'include: [sub/a.yaml]\nservices:\n  m: {image: m}\n',
        'sub/a.yaml': 'include: [../compose.yaml]\nservices:\n  a: {image: a}\n',
      }),
    )
    expect(cycle).toEqual([
      `${path.join(dir, 'sub/a.yaml')}:1:11: include[0]: include cycle: ${path.join(dir, 'compose.yaml')} includes ${path.join(dir, 'sub/a.yaml')} includes ${path.join(dir, 'compose.yaml')}`,
    ])
    const missing = errorsOf(() => load({'compose.yaml': 'include:\n  - path: nope.yaml\n'}))
    expect(missing).toEqual([`${path.join(dir, 'compose.yaml')}:2:11: include[0]: cannot include ${path.join(dir, 'nope.yaml')}: no such file`])
  })

  it('applies extends inside an included file, relative to the included project', () => {
    const {project} = load({
      'compose.yaml': 'include: [lib/compose.yaml]\n',
      'lib/compose.yaml': 'services:\n  api:\n    extends: {file: base.yaml, service: b}\n    command: api\n',
      'lib/base.yaml': 'services:\n  b: {image: base:1, volumes: [./v:/v]}\n',
    })
    expect(project.services.api?.image).toBe('base:1')
    expect(project.services.api?.volumes?.[0]?.source).toBe(path.join(dir, 'lib/v'))
  })

  it('makes a bind device of a local volume absolute, as Compose does (included file and main file)', () => {
    const {project} = load({
      'compose.yaml': `
include: [lib/compose.yaml]
services:
  web: {image: web, volumes: [mine:/m]}
volumes:
  mine: {driver: local, driver_opts: {type: none, o: bind, device: ./here}}
`,
      'lib/compose.yaml': `
services:
  api: {image: api, volumes: [theirs:/t]}
volumes:
  theirs: {driver: local, driver_opts: {type: none, o: bind, device: ./data}}
`,
    })
    expect(project.volumes.mine?.driver_opts?.device).toBe(path.join(dir, 'here'))
    expect(project.volumes.theirs?.driver_opts?.device).toBe(path.join(dir, 'lib/data'))
  })
})
