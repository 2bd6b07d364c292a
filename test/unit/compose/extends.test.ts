import {mkdirSync, mkdtempSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {beforeEach, describe, expect, it} from 'vitest'

import {loadProject} from '../../../src/compose/load.js'
import {errorsOf} from './support.js'

let dir: string

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'tta-extends-'))
})

function write(files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) {
    const file = path.join(dir, name)
    mkdirSync(path.dirname(file), {recursive: true})
    writeFileSync(file, text)
  }
}

function load(files: Record<string, string>, main: string[] = ['compose.yaml']): ReturnType<typeof loadProject> {
  write(files)
  return loadProject({files: main.map((f) => path.join(dir, f)), environment: {HOME: '/root'}, envFiles: []})
}

describe('extends', () => {
  it('merges a service of the same file by the overlay rules', () => {
    const {project} = load({
      'compose.yaml': `
services:
  base:
    image: busybox:1.36
    command: base
    environment: {A: "1", B: "1"}
    labels: [one=1]
    ports: ["8080:80"]
  web:
    extends: base
    command: [web, --x]
    environment: {B: "2"}
    labels: {two: "2"}
    ports: ["9090:90"]
`,
    })
    const web = project.services.web
    expect(web?.image).toBe('busybox:1.36')
    expect(web?.command).toEqual(['web', '--x'])
    expect(web?.environment).toEqual({A: '1', B: '2'})
    expect(web?.labels).toEqual({one: '1', two: '2'})
    expect(web?.ports?.map((p) => p.target)).toEqual([80, 90])
    // The base service itself is untouched.
    expect(project.services.base?.command).toEqual(['base'])
  })

  it('resolves relative paths of a service from another file against that file, and follows chains', () => {
    const {project} = load({
      'compose.yaml': `
services:
  web:
    extends: {file: lib/base.yaml, service: app}
    volumes: [./mine:/mine]
`,
      'lib/base.yaml': `
services:
  app:
    extends: {file: deeper/root.yaml, service: root}
    build: ./ctx
    env_file: app.env
    volumes: [./data:/data]
`,
      'lib/app.env': 'FROM_FILE=yes\n',
      'lib/deeper/root.yaml': `
services:
  root:
    labels: {level: root}
    volumes: [{type: bind, source: ./rootdata, target: /r}]
`,
    })
    const web = project.services.web
    expect(web?.build?.context).toBe(path.join(dir, 'lib/ctx'))
    expect(web?.environment).toEqual({FROM_FILE: 'yes'})
    expect(web?.labels).toEqual({level: 'root'})
    expect(web?.volumes?.map((v) => [v.source, v.target])).toEqual([
      [path.join(dir, 'lib/deeper/rootdata'), '/r'],
      [path.join(dir, 'lib/data'), '/data'],
      [path.join(dir, 'mine'), '/mine'],
    ])
  })

  it('removes a key the extending service resets with !reset', () => {
    const {project} = load({
      'compose.yaml': `
services:
  base: {image: busybox:1.36, ports: ["80"], environment: {A: "1"}}
  web:
    extends: base
    ports: !reset []
`,
    })
    expect(project.services.web?.ports).toBeUndefined()
    expect(project.services.web?.environment).toEqual({A: '1'})
  })

  it('refuses a cycle, naming file:line, the key and the chain', () => {
    const errors = errorsOf(() =>
      load({
        'compose.yaml': `
services:
  a:
    image: busybox:1.36
    extends: b
  b:
    extends: {service: c, file: other.yaml}
`,
        'other.yaml': `
services:
  c:
    extends: {service: a, file: compose.yaml}
`,
      }),
    )
    expect(errors).toHaveLength(1)
    expect(errors[0]).toContain(`${path.join(dir, 'other.yaml')}:4:`)
    expect(errors[0]).toContain('services.c.extends: circular extends: a in')
  })

  it('refuses a service that extends itself', () => {
    const errors = errorsOf(() => load({'compose.yaml': 'services:\n  a:\n    image: x\n    extends: a\n'}))
    expect(errors).toEqual([`${path.join(dir, 'compose.yaml')}:4:14: services.a.extends: circular extends: a in ${path.join(dir, 'compose.yaml')}, extends a in ${path.join(dir, 'compose.yaml')}`])
  })

  it('refuses an unknown base service and an unreadable file with file:line and key', () => {
    const errors = errorsOf(() =>
      load({
        'compose.yaml': `
services:
  a:
    extends: nope
  b:
    extends: {service: x, file: missing.yaml}
  c:
    extends: {file: other.yaml}
`,
      }),
    )
    expect(errors[0]).toBe(`${path.join(dir, 'compose.yaml')}:4:14: services.a.extends: service "nope" to extend is not defined in this file`)
    expect(errors[1]).toBe(`${path.join(dir, 'compose.yaml')}:6:33: services.b.extends.file: cannot read ${path.join(dir, 'missing.yaml')}: no such file`)
    expect(errors[2]).toBe(`${path.join(dir, 'compose.yaml')}:8:14: services.c.extends: extends needs a "service" to extend`)
  })

  it('applies to each -f file on its own, as Compose 2.26 does', () => {
    const errors = errorsOf(() =>
      load(
        {
          'compose.yaml': 'services:\n  base: {image: busybox:1.36}\n',
          'override.yaml': 'services:\n  web:\n    extends: base\n',
        },
        ['compose.yaml', 'override.yaml'],
      ),
    )
    expect(errors).toEqual([`${path.join(dir, 'override.yaml')}:3:14: services.web.extends: service "base" to extend is not defined in this file`])
  })

  it('checks a service taken from another file where it is used, and only that one', () => {
    const errors = errorsOf(() =>
      load({
        'compose.yaml': 'services:\n  web:\n    extends: {file: lib.yaml, service: good}\n  api:\n    extends: {file: lib.yaml, service: bad}\n',
        'lib.yaml': 'services:\n  good: {image: busybox:1.36}\n  bad: {extends: worse, image: busybox:1.36, restrat: always}\n  unused: {imagee: x}\n  worse: {tyy: true}\n',
      }),
    )
    expect(errors).toEqual([
      `${path.join(dir, 'lib.yaml')}:3:46: services.bad.restrat: unknown key "restrat" (did you mean "restart"?)`,
      `${path.join(dir, 'lib.yaml')}:5:11: services.worse.tyy: unknown key "tyy" (did you mean "tty"?)`,
    ])
  })
})
