import {afterEach, beforeEach, describe, expect, it, vi} from 'vitest'

import {Debouncer} from '../../../src/watch/debounce.js'

describe('Debouncer', () => {
  beforeEach(() => vi.useFakeTimers())
  afterEach(() => vi.useRealTimers())

  it('hands over one batch once changes stop for the quiet time, the latest value per key', () => {
    const batches: string[][] = []
    const d = new Debouncer<string>((b) => batches.push(b), 50, 1000)
    d.add('a', 'a1')
    vi.advanceTimersByTime(30)
    d.add('b', 'b1')
    d.add('a', 'a2')
    vi.advanceTimersByTime(49)
    expect(batches).toEqual([])
    vi.advanceTimersByTime(1)
    expect(batches).toEqual([['b1', 'a2']])
  })

  it('a steady stream of changes is flushed after maxWait', () => {
    const batches: number[][] = []
    const d = new Debouncer<number>((b) => batches.push(b), 50, 200)
    for (let i = 0; i < 10; i++) {
      d.add(String(i), i)
      vi.advanceTimersByTime(30)
    }
    expect(batches.length).toBe(1)
    expect(batches[0]).toEqual([0, 1, 2, 3, 4, 5, 6])
  })

  it('cancel drops what is pending', () => {
    const batches: number[][] = []
    const d = new Debouncer<number>((b) => batches.push(b), 50)
    d.add('x', 1)
    d.cancel()
    vi.advanceTimersByTime(2000)
    expect(batches).toEqual([])
    expect(d.size).toBe(0)
  })
})
