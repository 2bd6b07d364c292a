// The newline-delimited JSON reader shared by events, progress and the bench.
import {Readable} from 'node:stream'
import {describe, expect, it} from 'vitest'

import {readProgress} from '../../../src/docker/progress.js'
import {jsonLines} from '../../../src/docker/json-lines.js'

describe('jsonLines', () => {
  it('hands over objects split across chunks, skips lines that are not JSON objects, and reads a last line without newline at end()', () => {
    const seen: unknown[] = []
    const lines = jsonLines<{n: number}>((value) => seen.push(value))
    lines.push('{"n":1}\n{"n"')
    expect(seen).toEqual([{n: 1}])
    lines.push(Buffer.from(':2}\nnot json\nnull\n42\n\n{"n":3}'))
    expect(seen).toEqual([{n: 1}, {n: 2}])
    lines.end()
    expect(seen).toEqual([{n: 1}, {n: 2}, {n: 3}])
  })
})

describe('readProgress', () => {
  it('passes events on and resolves at the end of the stream', async () => {
    const events: unknown[] = []
    await readProgress(Readable.from(['{"status":"Pulling"}\n{"id":"a","progressDetail":{"current":1,"total":2}}\n']), (e) => events.push(e))
    expect(events).toEqual([{status: 'Pulling'}, {id: 'a', progressDetail: {current: 1, total: 2}}])
  })

  it('rejects with the engine\'s message at an error event (the answer was 200) and reports nothing after it', async () => {
    const events: unknown[] = []
    const stream = Readable.from(['{"stream":"Step 1/2"}\n{"errorDetail":{"message":"no space left"},"error":"no space left"}\n{"stream":"after"}\n'])
    await expect(readProgress(stream, (e) => events.push(e))).rejects.toThrow('no space left')
    expect(events).toEqual([{stream: 'Step 1/2'}])
  })
})
