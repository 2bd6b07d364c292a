import {chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {InputError} from '../../../src/errors.js'
import {openWorkspaceCached} from '../../../src/workspace/config-cache.js'
import {openWorkspace} from '../../../src/workspace/workspace.js'

let root = ''
const configFile = () => join(root, 'tta.config.yaml')
const cacheFile = () => join(root, '.tta', 'cache', 'config.json')

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'tta-config-cache-'))
})
afterEach(() => rmSync(root, {recursive: true, force: true}))

describe('openWorkspaceCached', () => {
  it('returns what openWorkspace returns, and keeps it in .tta/cache, which git ignores', async () => {
    writeFileSync(configFile(), 'projectName: shop\nimages:\n  redis:7.2.4-alpine: mirror/redis:7\nprobes:\n  api: {type: http, port: 8080, path: /health}\n')
    const cached = await openWorkspaceCached(root, root)
    expect(cached).toEqual(openWorkspace(root, root))
    expect(existsSync(cacheFile())).toBe(true)
    expect(readFileSync(join(root, '.tta', '.gitignore'), 'utf8')).toMatch(/^\*$/m)
  })

  it('answers from the cache while the file is unchanged, and parses again once it changes', async () => {
    writeFileSync(configFile(), 'projectName: shop\n')
    await openWorkspaceCached(root, root)
    // Proof the second answer comes from the cache: doctor the cached copy, key untouched.
    const body = JSON.parse(readFileSync(cacheFile(), 'utf8')) as {config: {projectName: string}}
    body.config.projectName = 'from-cache'
    writeFileSync(cacheFile(), JSON.stringify(body))
    expect((await openWorkspaceCached(root, root)).config.projectName).toBe('from-cache')

    // Same size, new content, mtime moved: the key changes.
    writeFileSync(configFile(), 'projectName: shoq\n')
    const later = new Date(Date.now() + 5000)
    utimesSync(configFile(), later, later)
    expect((await openWorkspaceCached(root, root)).config.projectName).toBe('shoq')
  })

  it('never caches a file with errors: they are reported every time', async () => {
    writeFileSync(configFile(), 'projectName: Not Valid\n')
    await expect(openWorkspaceCached(root, root)).rejects.toBeInstanceOf(InputError)
    expect(existsSync(cacheFile())).toBe(false)
    await expect(openWorkspaceCached(root, root)).rejects.toBeInstanceOf(InputError)
  })

  it('parses again when the cache is unreadable, and works without a config file', async () => {
    writeFileSync(configFile(), 'projectName: shop\n')
    await openWorkspaceCached(root, root)
    writeFileSync(cacheFile(), '{half a file')
    expect((await openWorkspaceCached(root, root)).config.projectName).toBe('shop')
    rmSync(configFile())
    expect((await openWorkspaceCached(root, root)).config).toEqual({images: {}, composeFiles: []})
  })

  it('writes the cache 0600 in a 0700 directory under umask 000, and tightens an older 0755 one', async () => {
    const umask = process.umask(0)
    try {
      const mode = (path: string): string => (statSync(path).mode & 0o777).toString(8)
      writeFileSync(configFile(), 'projectName: shop\n')
      await openWorkspaceCached(root, root)
      expect(mode(join(root, '.tta', 'cache'))).toBe('700')
      expect(mode(cacheFile())).toBe('600')

      // A cache directory left world-readable (an older tta, a copied checkout): tightened on the next write.
      rmSync(join(root, '.tta'), {recursive: true})
      mkdirSync(join(root, '.tta', 'cache'), {recursive: true})
      chmodSync(join(root, '.tta', 'cache'), 0o755)
      await openWorkspaceCached(root, root)
      expect(mode(join(root, '.tta', 'cache'))).toBe('700')
      expect(mode(cacheFile())).toBe('600')
    } finally {
      process.umask(umask)
    }
  })
})
