// Security default: no password is on a command line. `ps` on the host shows every container's
// processes to every local user, and `docker inspect` shows Cmd/Entrypoint: the bundled files keep
// the generated secrets out of `command`, `entrypoint` and healthcheck commands in every mode and
// deploy overlay. (test/e2e/security.test.ts checks a real redis: inspect, `docker top`, and that
// it still refuses a client without the password.)
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {loadProject} from '../../../src/compose/load.js'
import {bundledComposeDir} from '../../../src/paths.js'
import {bundledFilesFor, MODES} from '../../../src/workspace/project.js'
import {GENERATED_SECRETS} from '../../../src/workspace/secrets.js'

// Distinct, recognisable values, so a leak names the secret.
const SECRETS = Object.fromEntries(GENERATED_SECRETS.map((name) => [name, `Sec-${name.toLowerCase()}-7f3a`]))

const VARIANTS: Array<{name: string; files: string[]}> = [
  ...MODES.map((mode) => ({name: mode, files: bundledFilesFor(mode)})),
  {name: 'full --no-hot-reload', files: bundledFilesFor('full', {hotReload: false})},
  ...['staging', 'production'].map((target) => ({name: `deploy ${target}`, files: [join(bundledComposeDir, 'docker-compose.yml'), join(bundledComposeDir, `docker-compose.${target}.yml`)]})),
]

describe('no secret on a command line', () => {
  for (const variant of VARIANTS) {
    it(variant.name, () => {
      const {project} = loadProject({files: variant.files, projectName: 'cmdline', environment: {TTA_WORKSPACE: '/workspace', ...SECRETS}, envFiles: []})
      const leaks: string[] = []
      let environmentHolds = 0
      for (const [name, service] of Object.entries(project.services)) {
        const argv = {command: service.command ?? [], entrypoint: service.entrypoint ?? [], healthcheck: service.healthcheck?.test ?? []}
        for (const [where, args] of Object.entries(argv)) {
          for (const [secret, value] of Object.entries(SECRETS)) if (args.some((arg) => arg.includes(value))) leaks.push(`${name} ${where}: ${secret}`)
        }
        const env = JSON.stringify(service.environment ?? {})
        if (Object.values(SECRETS).some((value) => env.includes(value))) environmentHolds++
      }
      expect(leaks).toEqual([])
      // The check looked at services that do get a secret (through their environment).
      expect(environmentHolds).toBeGreaterThan(0)
    })
  }
})
