import {chmodSync, mkdtempSync, writeFileSync} from 'node:fs'
import {createServer} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {diskCheck, envFileCheck, memoryCheck} from '../../../src/doctor/checks.js'
import {portFromEngineError, processListening} from '../../../src/engine/ports.js'

describe('doctor checks', () => {
  it('flags a .env others can read, and passes a 0600 one', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'tta-doc-')), '.env')
    expect(envFileCheck(file).status).toBe('info')
    writeFileSync(file, 'A=1\n')
    chmodSync(file, 0o644)
    expect(envFileCheck(file)).toMatchObject({status: 'warn', fix: `chmod 600 ${file}`})
    chmodSync(file, 0o600)
    expect(envFileCheck(file).status).toBe('ok')
  })
  it('warns on little memory', () => {
    expect(memoryCheck(2 * 1024 ** 3, 2).status).toBe('warn')
    expect(memoryCheck(16 * 1024 ** 3, 8).status).toBe('ok')
  })
  it('does not claim to know the disk of an engine it cannot see', () => {
    expect(diskCheck('/var/lib/docker', true).status).toBe('info')
    expect(diskCheck(tmpdir(), false).status).toMatch(/ok|warn/)
  })
})

describe('port holders', () => {
  it('finds the process listening on a port through /proc', async () => {
    const server = createServer()
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const port = (server.address() as {port: number}).port
    try {
      expect(processListening(port)).toEqual({pid: process.pid, command: expect.any(String)})
    } finally {
      server.close()
    }
  })
  it("reads the engine's port errors", () => {
    expect(portFromEngineError('Error starting userland proxy: listen tcp4 127.0.0.1:8001: bind: address already in use')).toEqual({host: '127.0.0.1', port: 8001})
    expect(portFromEngineError('Bind for 0.0.0.0:5432 failed: port is already allocated')).toEqual({host: '0.0.0.0', port: 5432})
    expect(portFromEngineError('no such image')).toBeUndefined()
  })
})
