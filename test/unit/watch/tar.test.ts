import {mkdirSync, mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {Readable} from 'node:stream'

import {extract} from 'tar-stream'
import {describe, expect, it} from 'vitest'

import {buildTar, entryName} from '../../../src/watch/tar.js'

async function entries(archive: Buffer): Promise<Array<{name: string; type: string; body: string; mode: number}>> {
  const out: Array<{name: string; type: string; body: string; mode: number}> = []
  const ex = extract()
  ex.on('entry', (header, stream, next) => {
    const chunks: Buffer[] = []
    stream.on('data', (c: unknown) => chunks.push(c as Buffer))
    stream.on('end', () => {
      out.push({name: header.name, type: header.type ?? 'file', body: Buffer.concat(chunks).toString('utf8'), mode: header.mode ?? 0})
      next()
    })
  })
  await new Promise<void>((resolve, reject) => {
    ex.on('finish', () => resolve())
    ex.on('error', reject)
    Readable.from([archive]).pipe(ex)
  })
  return out
}

describe('sync archives', () => {
  it('names entries by container path, keeps content and mode, reports vanished files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tta-tar-'))
    writeFileSync(join(dir, 'main.py'), 'print(1)\n', {mode: 0o755})
    const result = await buildTar([
      {hostPath: join(dir, 'main.py'), containerPath: '/app/app/main.py'},
      {hostPath: join(dir, 'gone.py'), containerPath: '/app/app/gone.py'},
    ])
    expect(result.files).toBe(1)
    expect(result.vanished.map((v) => v.containerPath)).toEqual(['/app/app/gone.py'])
    const list = await entries(result.archive)
    expect(list).toEqual([{name: 'app/app/main.py', type: 'file', body: 'print(1)\n', mode: 0o755}])
  })

  it('a new directory is sent whole, minus what keep rejects', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tta-tar-'))
    mkdirSync(join(dir, 'pkg/__pycache__'), {recursive: true})
    writeFileSync(join(dir, 'pkg/a.py'), 'a')
    writeFileSync(join(dir, 'pkg/__pycache__/a.pyc'), 'x')
    const result = await buildTar([{hostPath: join(dir, 'pkg'), containerPath: '/app/pkg'}], (p) => !p.includes('__pycache__'))
    const list = await entries(result.archive)
    expect(list.map((e) => `${e.type}:${e.name}`)).toEqual(['directory:app/pkg', 'file:app/pkg/a.py'])
    expect(entryName('//x/y')).toBe('x/y')
  })
})
