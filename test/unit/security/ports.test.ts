// Security default: every host port the bundled compose files publish binds 127.0.0.1, in every
// mode and deploy overlay, unless TTA_BIND_IP says otherwise. Checked on tta's own loader (what
// `tta dev` creates from); test/e2e/security.test.ts checks the engine's bindings after a real run,
// and test/e2e/config-compat.test.ts checks Docker Compose's reading of the full mode.
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {loadProject} from '../../../src/compose/load.js'
import {bundledComposeDir} from '../../../src/paths.js'
import {bundledFilesFor, MODES} from '../../../src/workspace/project.js'
import {GENERATED_SECRETS} from '../../../src/workspace/secrets.js'

const SECRETS = Object.fromEntries(GENERATED_SECRETS.map((name) => [name, `test-${name.toLowerCase()}`]))

const VARIANTS: Array<{name: string; files: string[]}> = [
  ...MODES.map((mode) => ({name: mode, files: bundledFilesFor(mode)})),
  {name: 'dev --no-hot-reload', files: bundledFilesFor('dev', {hotReload: false})},
  {name: 'full --no-hot-reload', files: bundledFilesFor('full', {hotReload: false})},
  ...['staging', 'production'].map((target) => ({name: `deploy ${target}`, files: [join(bundledComposeDir, 'docker-compose.yml'), join(bundledComposeDir, `docker-compose.${target}.yml`)]})),
]

/** Every published port of a variant as `service:target -> host_ip:published`. */
function bindings(files: string[], env: Record<string, string> = {}): Array<{what: string; hostIp: string | undefined}> {
  const {project} = loadProject({files, projectName: 'security', environment: {TTA_WORKSPACE: '/workspace', ...SECRETS, ...env}, envFiles: []})
  return Object.entries(project.services).flatMap(([service, s]) =>
    (s.ports ?? []).filter((p) => p.published !== undefined).map((p) => ({what: `${service}:${p.target} -> ${p.host_ip ?? '*'}:${p.published}`, hostIp: p.host_ip})),
  )
}

describe('published ports bind 127.0.0.1 by default', () => {
  for (const variant of VARIANTS) {
    it(variant.name, () => {
      const ports = bindings(variant.files)
      if (variant.name !== 'deploy staging') expect(ports.length, 'publishes something').toBeGreaterThan(0)
      expect(ports.filter((p) => p.hostIp !== '127.0.0.1').map((p) => p.what)).toEqual([])
    })
  }

  it('TTA_BIND_IP moves every one of them (no port is pinned to an address of its own)', () => {
    for (const variant of VARIANTS) {
      const ports = bindings(variant.files, {TTA_BIND_IP: '0.0.0.0'})
      expect(ports.filter((p) => p.hostIp !== '0.0.0.0').map((p) => p.what), variant.name).toEqual([])
    }
  })

  it('every ports entry in the bundled files is "${TTA_BIND_IP:-127.0.0.1}:${TTA_<NAME>_PORT:-N}:N"', () => {
    // The raw text, so a port added without the variables (and so bound to 0.0.0.0) fails here.
    let checked = 0
    for (const file of ['docker-compose.yml', 'docker-compose.hotreload.yml', 'docker-compose.monitoring.yml', 'docker-compose.staging.yml', 'docker-compose.production.yml']) {
      const lines = readFileSync(join(bundledComposeDir, file), 'utf8').split('\n')
      lines.forEach((line, i) => {
        if (!/^\s*ports:/.test(line)) return
        if (/ports:\s*!reset\s*\[\]/.test(line)) return
        for (let j = i + 1; j < lines.length && /^\s*-/.test(lines[j] ?? ''); j++) {
          expect(lines[j], `${file}:${j + 1}`).toMatch(/^\s*- "\$\{TTA_BIND_IP:-127\.0\.0\.1\}:\$\{TTA_[A-Z0-9_]+_PORT:-\d+\}:\d+"$/)
          checked++
        }
      })
    }
    // Each host port of the core and monitoring stacks (test/e2e/helpers.ts ALL_PORT_VARS has 19).
    expect(checked).toBe(19)
  })
})
