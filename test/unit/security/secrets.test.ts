// Security default: the stack's passwords are generated with a CSPRNG into a 0600 `.env` on the
// first run, and kept afterwards. (Not regenerating and keeping the user's own lines is also in
// test/unit/workspace/workspace.test.ts; the CLI's output never showing them is in
// test/e2e/security.test.ts.)
import {chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {ensureSecrets, GENERATED_SECRETS} from '../../../src/workspace/secrets.js'
import {repoRoot} from './source-scan.js'

const temp = (): string => mkdtempSync(join(tmpdir(), 'tta-sec-'))

function values(envFile: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const line of readFileSync(envFile, 'utf8').split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line)
    if (m) out[m[1] as string] = m[2] as string
  }
  return out
}

describe('generated secrets', () => {
  let umask = 0
  // A permissive umask must not matter: the mode is set explicitly.
  beforeEach(() => {
    umask = process.umask(0)
  })
  afterEach(() => {
    process.umask(umask)
  })

  it('covers postgres, neo4j, redis and grafana', () => {
    expect([...GENERATED_SECRETS].sort()).toEqual(['TTA_GRAFANA_ADMIN_PASSWORD', 'TTA_NEO4J_PASSWORD', 'TTA_POSTGRES_PASSWORD', 'TTA_REDIS_PASSWORD'])
  })

  it('are 144 random bits each, different per secret and per workspace, in a 0600 file', () => {
    const seen = new Set<string>()
    for (let i = 0; i < 20; i++) {
      const envFile = join(temp(), '.env')
      expect(ensureSecrets(envFile, {}).generated).toEqual([...GENERATED_SECRETS])
      expect(statSync(envFile).mode & 0o777).toBe(0o600)
      const v = values(envFile)
      for (const name of GENERATED_SECRETS) {
        // 18 random bytes, base64url: 24 characters a shell, a URL and a dotenv file take as they are.
        expect(v[name], name).toMatch(/^[A-Za-z0-9_-]{24}$/)
        seen.add(v[name] as string)
      }
    }
    expect(seen.size).toBe(20 * GENERATED_SECRETS.length)
  })

  it('come from node:crypto, never Math.random', () => {
    const source = readFileSync(join(repoRoot, 'src/workspace/secrets.ts'), 'utf8')
    expect(source).toMatch(/import \{[^}]*\brandomBytes\b[^}]*\} from 'node:crypto'/)
    expect(source).toMatch(/randomBytes\(18\)/)
    expect(source).not.toMatch(/Math\.random/)
  })

  it('tighten an existing world-readable .env to 0600 when they are added to it', () => {
    const envFile = join(temp(), '.env')
    writeFileSync(envFile, 'TTA_REDIS_PORT=6380\n')
    chmodSync(envFile, 0o644)
    ensureSecrets(envFile, {})
    expect(statSync(envFile).mode & 0o777).toBe(0o600)
    expect(readFileSync(envFile, 'utf8').startsWith('TTA_REDIS_PORT=6380\n')).toBe(true)
  })

  it('are not regenerated on the second run: the file is byte for byte the same', () => {
    const envFile = join(temp(), '.env')
    ensureSecrets(envFile, {})
    const first = readFileSync(envFile, 'utf8')
    expect(ensureSecrets(envFile, {}).generated).toEqual([])
    expect(readFileSync(envFile, 'utf8')).toBe(first)
  })
})
