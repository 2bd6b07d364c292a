// Security default: the stack's passwords are generated with a CSPRNG into a 0600 `.env` on the
// first run, and kept afterwards. (Not regenerating and keeping the user's own lines is also in
// test/unit/workspace/workspace.test.ts; the CLI's output never showing them is in
// test/e2e/security.test.ts.)
import {chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it, vi} from 'vitest'

import {loadProject} from '../../../src/compose/load.js'
import {bundledComposeDir} from '../../../src/paths.js'
import {bundledFilesFor} from '../../../src/workspace/project.js'
import {ensureSecrets, GENERATED_SECRETS} from '../../../src/workspace/secrets.js'

// node:crypto's randomBytes, observed (and replaced in one test) where secrets.ts imports it.
const {randomBytesSpy, realRandomBytes} = await vi.hoisted(async () => {
  const crypto = await import('node:crypto')
  return {randomBytesSpy: vi.fn(crypto.randomBytes as (size: number) => Buffer), realRandomBytes: crypto.randomBytes as (size: number) => Buffer}
})
vi.mock('node:crypto', async (importOriginal) => ({...(await importOriginal<typeof import('node:crypto')>()), randomBytes: randomBytesSpy}))

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

  it('cover every password the bundled compose files require: a fresh .env is enough for every mode and overlay', () => {
    const files = [...new Set([...bundledFilesFor('full'), ...['staging', 'production'].map((t) => join(bundledComposeDir, `docker-compose.${t}.yml`))])]
    const variants = [bundledFilesFor('full'), ...['staging', 'production'].map((t) => [join(bundledComposeDir, 'docker-compose.yml'), join(bundledComposeDir, `docker-compose.${t}.yml`)])]
    const envFile = join(temp(), '.env')
    ensureSecrets(envFile, {})
    const load = (variant: string[], env: string): unknown => loadProject({files: variant, projectName: 'secrets', environment: {TTA_WORKSPACE: '/workspace'}, envFiles: [env]})
    for (const variant of variants) expect(() => load(variant, envFile)).not.toThrow()
    // And each generated one is needed: without it, some file refuses to load, naming it.
    expect(files.length).toBeGreaterThan(3)
    for (const name of GENERATED_SECRETS) {
      const without = join(temp(), '.env')
      writeFileSync(without, readFileSync(envFile, 'utf8').split('\n').filter((line) => !line.startsWith(`${name}=`)).join('\n'))
      const failures = variants.map((variant) => {
        try {
          load(variant, without)
          return ''
        } catch (error) {
          return (error as Error).message
        }
      })
      expect(failures.join('\n'), name).toContain(name)
    }
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

  it('are node:crypto randomBytes(18), base64url, one call per secret; Math.random plays no part', () => {
    const drawn: Buffer[] = []
    randomBytesSpy.mockClear()
    randomBytesSpy.mockImplementation((size: number) => {
      const bytes = Buffer.alloc(size, drawn.length + 1)
      drawn.push(bytes)
      return bytes
    })
    const random = vi.spyOn(Math, 'random').mockReturnValue(0.5)
    try {
      const envFile = join(temp(), '.env')
      ensureSecrets(envFile, {})
      expect(randomBytesSpy.mock.calls.map((call) => call[0])).toEqual(GENERATED_SECRETS.map(() => 18))
      const v = values(envFile)
      expect(GENERATED_SECRETS.map((name) => v[name])).toEqual(drawn.map((bytes) => bytes.toString('base64url')))
      expect(random).not.toHaveBeenCalled()
    } finally {
      random.mockRestore()
      randomBytesSpy.mockReset()
      randomBytesSpy.mockImplementation(realRandomBytes)
    }
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
