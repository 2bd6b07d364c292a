import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import type {LoadedProject} from '../../../src/compose/model.js'
import {allocatePorts, BLOCK_SIZE, blockStart, reassignablePorts} from '../../../src/engine/port-allocation.js'
import {PortInUseError, portVariable} from '../../../src/engine/ports.js'
import {UpFailedError} from '../../../src/engine/up.js'
import {recordedPorts, recordPorts, userSetVariables} from '../../../src/workspace/port-state.js'

describe('port allocation', () => {
  it('gives each checkout a stable block in 20000-29999', () => {
    const a = blockStart('/work/a', 'tta-a')
    expect(blockStart('/work/a', 'tta-a')).toBe(a)
    expect(a).toBeGreaterThanOrEqual(20_000)
    expect(a + BLOCK_SIZE - 1).toBeLessThanOrEqual(29_999)
    expect((a - 20_000) % BLOCK_SIZE).toBe(0)
  })

  it('takes the first free ports of the block, skipping taken and avoided ones', async () => {
    const busy = new Set([20_100, 20_102])
    const {ports, unserved} = await allocatePorts(
      [
        {variable: 'TTA_REDIS_PORT', host: '127.0.0.1'},
        {variable: 'TTA_POSTGRES_PORT', host: '127.0.0.1'},
      ],
      {block: 20_100, avoid: new Set([20_101]), free: async (_host, port) => !busy.has(port)},
    )
    expect(ports).toEqual({TTA_REDIS_PORT: 20_103, TTA_POSTGRES_PORT: 20_104})
    expect(unserved).toEqual([])
  })

  it('gives up (bounded) when two blocks are all taken', async () => {
    let asked = 0
    const {ports, unserved} = await allocatePorts([{variable: 'TTA_REDIS_PORT', host: '127.0.0.1'}], {
      block: 29_900,
      avoid: new Set(),
      free: async () => {
        asked++
        return false
      },
    })
    expect(ports).toEqual({})
    expect(unserved).toEqual(['TTA_REDIS_PORT'])
    expect(asked).toBe(2 * BLOCK_SIZE)
  })

  it('finds the variable of a published port, set or defaulted', () => {
    expect(portVariable('6379', {TTA_REDIS_PORT: '', TTA_BIND_IP: ''}, {TTA_REDIS_PORT: '6379'})).toBe('TTA_REDIS_PORT')
    expect(portVariable('20001', {TTA_REDIS_PORT: '20001'})).toBe('TTA_REDIS_PORT')
    expect(portVariable('5432', {TTA_REDIS_PORT: ''}, {TTA_REDIS_PORT: '6379'})).toBeUndefined()
  })

  it('records allocations per project in .tta/ports.json and reads them back', () => {
    const root = mkdtempSync(join(tmpdir(), 'tta-ports-'))
    expect(recordedPorts(root, 'tta-a')).toEqual({})
    recordPorts(root, 'tta-a', {TTA_REDIS_PORT: 20_001})
    recordPorts(root, 'tta-a', {TTA_POSTGRES_PORT: 20_002})
    recordPorts(root, 'tta-b', {TTA_REDIS_PORT: 21_001})
    expect(recordedPorts(root, 'tta-a')).toEqual({TTA_REDIS_PORT: 20_001, TTA_POSTGRES_PORT: 20_002})
    expect(recordedPorts(root, 'tta-b')).toEqual({TTA_REDIS_PORT: 21_001})
  })

  it('counts variables from the environment and .env as the user\'s own', () => {
    const set = userSetVariables('TTA_REDIS_PORT=7000\n# TTA_X_PORT=1\n', {TTA_POSTGRES_PORT: '5433', EMPTY: ''})
    expect([...set].sort()).toEqual(['TTA_POSTGRES_PORT', 'TTA_REDIS_PORT'])
  })
})

describe('reassignablePorts', () => {
  const loaded = {
    project: {name: 'p', services: {redis: {name: 'redis', ports: [{target: 6379, published: '6379', host_ip: '127.0.0.1', protocol: 'tcp'}]}}},
    environment: {TTA_REDIS_PORT: '', TTA_BIND_IP: ''},
    defaults: {TTA_REDIS_PORT: '6379', TTA_BIND_IP: '127.0.0.1'},
  } as unknown as LoadedProject
  const conflict = new PortInUseError([{service: 'redis', host: '127.0.0.1', port: 6379}])

  it('reallocates a defaulted port variable, on the preflight or at container start', () => {
    expect(reassignablePorts(conflict, loaded, new Set())).toEqual([{variable: 'TTA_REDIS_PORT', host: '127.0.0.1'}])
    const atStart = new UpFailedError([{service: 'redis', reason: 'taken', logs: [], portTaken: 6379}], [])
    expect(reassignablePorts(atStart, loaded, new Set())).toEqual([{variable: 'TTA_REDIS_PORT', host: '127.0.0.1'}])
  })

  it('leaves the user\'s own variable and other failures alone', () => {
    expect(reassignablePorts(conflict, loaded, new Set(['TTA_REDIS_PORT']))).toBeUndefined()
    expect(reassignablePorts(new UpFailedError([{service: 'redis', reason: 'exited', logs: []}], []), loaded, new Set())).toBeUndefined()
    expect(reassignablePorts(new Error('other'), loaded, new Set())).toBeUndefined()
  })
})
