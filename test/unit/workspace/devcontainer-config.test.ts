import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {loadProject} from '../../../src/compose/load.js'
import {DEFAULT_UI_PORT} from '../../../src/dashboard/model.js'
import {bundledComposeDir, packageRoot} from '../../../src/paths.js'
import {bundledFilesFor} from '../../../src/workspace/project.js'

interface DevcontainerJson {
  image: string
  features: Record<string, Record<string, unknown>>
  remoteEnv: Record<string, string>
  forwardPorts: number[]
  portsAttributes: Record<string, {label?: string}>
  postCreateCommand: string
  customizations: {vscode: {extensions: string[]}}
}

// Plain JSON (no comments) on purpose: every tool reads it, and this test can parse it strictly.
const config = JSON.parse(readFileSync(join(packageRoot, '.devcontainer', 'devcontainer.json'), 'utf8')) as DevcontainerJson

describe('.devcontainer/devcontainer.json', () => {
  it('uses a pinned Node 20 TypeScript image with docker-outside-of-docker and Compose v2', () => {
    expect(config.image).toMatch(/typescript-node:[^:]*20/)
    expect(config.image).not.toMatch(/:latest$/)
    const dood = Object.entries(config.features).find(([id]) => id.includes('docker-outside-of-docker'))
    expect(dood?.[1]).toMatchObject({dockerDashComposeVersion: 'v2'})
  })

  it('tells tta where the workspace is on the host', () => {
    expect(config.remoteEnv.LOCAL_WORKSPACE_FOLDER).toBe('${localWorkspaceFolder}')
  })

  it('forwards, with a label, every port the bundled files publish by default', () => {
    const loaded = loadProject({
      files: bundledFilesFor('full'),
      projectName: 'tta',
      environment: {TTA_WORKSPACE: '/ws', TTA_REDIS_PASSWORD: 'x', TTA_POSTGRES_PASSWORD: 'x', TTA_NEO4J_PASSWORD: 'x', TTA_GRAFANA_ADMIN_PASSWORD: 'x'},
      envFiles: [],
    })
    const published = Object.values(loaded.project.services).flatMap((s) => (s.ports ?? []).map((p) => Number(p.published)))
    expect(published.length).toBeGreaterThan(15)
    for (const port of published) {
      expect(config.forwardPorts).toContain(port)
      expect(config.portsAttributes[String(port)]?.label).toBeTruthy()
    }
    expect(bundledComposeDir).toContain('compose')
  })

  it('forwards the tta ui port (its default)', () => {
    expect(config.forwardPorts).toContain(DEFAULT_UI_PORT)
    expect(config.portsAttributes[String(DEFAULT_UI_PORT)]?.label).toBe('tta ui')
  })

  it('installs and links tta after creation, and recommends the project extensions', () => {
    expect(config.postCreateCommand).toContain('npm ci')
    expect(config.postCreateCommand).toContain('npm link')
    expect(config.customizations.vscode.extensions).toContain('dbaeumer.vscode-eslint')
  })
})
