import {mkdtempSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {expect, it} from 'vitest'

import {loadProject} from '../../../src/compose/load.js'
import {composeView} from '../../../src/compose/view.js'
import {InputErrors} from '../../../src/errors.js'

// Differences from Compose that the conformance corpus (test/conformance) found.

function compose(text: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tta-findings-'))
  const file = path.join(dir, 'compose.yaml')
  writeFileSync(file, text)
  return file
}

// docker/awesome-compose's pihole, plex and apache-php stacks.
it('keeps an absolute bind source as written and cleans the target, as Compose does', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tta-volpaths-'))
  const file = path.join(dir, 'compose.yaml')
  writeFileSync(
    file,
    'services:\n  s:\n    image: busybox\n    volumes: ["/etc/pihole/:/etc/pihole/", "./www/:/var/www/html/", "./:/a/./b", {type: bind, source: /x/, target: /long/}]\n',
  )
  const {project} = loadProject({files: [file], environment: {}, envFiles: []})
  expect(project.services.s?.volumes?.map((v) => [v.source, v.target])).toEqual([
    ['/etc/pihole/', '/etc/pihole'],
    [path.join(dir, 'www'), '/var/www/html'],
    [dir, '/a/b'],
    ['/x/', '/long'],
  ])
})

// compose-go's loader tests (Windows paths, loader_test.go) and ulimits merge tests.
it('keeps a Windows drive-letter bind source as written', () => {
  const file = compose('services:\n  s:\n    image: busybox\n    volumes: ["Z:\\\\some-dir:/x"]\n')
  const {project} = loadProject({files: [file], environment: {}, envFiles: []})
  expect(project.services.s?.volumes?.[0]?.source).toBe('Z:\\some-dir')
})

it('refuses a long-form ulimit without soft or hard, naming it', () => {
  const file = compose('services:\n  s:\n    image: busybox\n    ulimits:\n      nofile: {soft: 1}\n      nproc: 5\n')
  let messages: string[] = []
  try {
    loadProject({files: [file], environment: {}, envFiles: []})
  } catch (e) {
    if (e instanceof InputErrors) messages = e.errors.map((x) => x.message)
  }
  expect(messages).toEqual([`${file}:5:15: services.s.ulimits.nofile: "hard" missing (the long form needs both soft and hard)`])
})

// Found by hand beside the corpus: `networks: []` must not leave a service without a network.
it('attaches a service with an empty networks key to the default network, as Compose does', () => {
  const file = compose('services:\n  a: {image: busybox, networks: []}\n  b: {image: busybox, networks: {}, network_mode: host}\n')
  const {project} = loadProject({files: [file], environment: {}, envFiles: []})
  expect(project.services.a?.networks).toEqual({default: null})
  expect(project.services.b?.networks).toBeUndefined()
  expect(project.services.b?.network_mode).toBe('host')
})

// compose-go's loader tests (extensions) and a hand check: what `tta config` prints when empty.
it('prints an empty struct (healthcheck: {}) but leaves out an empty list or mapping, as Compose does', () => {
  const file = compose('services:\n  a:\n    image: busybox\n    build: {context: ., args: {}}\n    healthcheck: {}\n    logging: {}\n    environment: {}\n    labels: []\n    ports: []\n')
  const view = composeView(loadProject({files: [file], environment: {}, envFiles: []}).project) as {services: {a: Record<string, unknown>}}
  expect(view.services.a.healthcheck).toEqual({})
  expect(view.services.a.logging).toEqual({})
  for (const key of ['environment', 'labels', 'ports']) expect(view.services.a).not.toHaveProperty(key)
  expect(view.services.a.command).toBeNull()
  expect(view.services.a.build).not.toHaveProperty('args')
})
