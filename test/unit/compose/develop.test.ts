import {mkdtempSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {describe, expect, it} from 'vitest'

import {loadProject} from '../../../src/compose/load.js'
import {InputErrors, InputError} from '../../../src/errors.js'

function load(text: string): ReturnType<typeof loadProject> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tta-develop-'))
  const file = path.join(dir, 'compose.yml')
  writeFileSync(file, text)
  return loadProject({files: [file], environment: {HOME: '/root'}, envFiles: []})
}

function messages(fn: () => unknown): string[] {
  try {
    fn()
  } catch (e) {
    if (e instanceof InputErrors) return e.errors.map((x) => x.message)
    if (e instanceof InputError) return [e.message]
    throw e
  }
  throw new Error('expected input errors')
}

describe('develop.watch in the loader', () => {
  it('keeps the rules with Compose field names, paths absolute', () => {
    const {project} = load(`services:
  api:
    image: x:1
    develop:
      watch:
        - path: ./app
          action: sync
          target: /app/app
          ignore: ["**/__pycache__/"]
          initial_sync: true
        - path: requirements.txt
          action: rebuild
        - path: web
          action: sync+exec
          target: /web
          include: ["*.js"]
          exec:
            command: ["npm", "run", "build"]
            user: node
`)
    const rules = project.services.api?.develop?.watch ?? []
    expect(rules).toHaveLength(3)
    expect(rules[0]).toMatchObject({action: 'sync', target: '/app/app', ignore: ['**/__pycache__/'], initial_sync: true})
    expect(path.isAbsolute(rules[0]?.path ?? '')).toBe(true)
    expect(rules[0]?.path.endsWith('/app')).toBe(true)
    expect(rules[1]).toMatchObject({action: 'rebuild'})
    expect(rules[2]).toMatchObject({include: ['*.js'], exec: {command: ['npm', 'run', 'build'], user: 'node'}})
  })

  it('names file:line for an unknown action, a sync without target, a missing path', () => {
    const errors = messages(() =>
      load(`services:
  api:
    image: x:1
    develop:
      watch:
        - path: app
          action: copy
        - path: app
          action: sync
        - action: restart
`),
    )
    expect(errors.some((m) => /compose\.yml:7:\d+: services\.api\.develop\.watch\[0\]\.action: action must be one of .*\(got "copy"\)/.test(m))).toBe(true)
    expect(errors.some((m) => /compose\.yml:8:\d+: .*watch\[1\]: target is required for the sync action/.test(m))).toBe(true)
    expect(errors.some((m) => /compose\.yml:10:\d+: .*watch\[2\]: path is required/.test(m))).toBe(true)
  })

  it('an unknown key inside a rule is refused', () => {
    const errors = messages(() =>
      load(`services:
  api:
    image: x:1
    develop:
      watch:
        - path: app
          action: rebuild
          when: always
`),
    )
    expect(errors.join('\n')).toMatch(/compose\.yml:8:\d+: .*when/)
  })
})
