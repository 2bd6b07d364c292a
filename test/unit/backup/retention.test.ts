import {describe, expect, it} from 'vitest'

import {formatAge, parseMaxAge} from '../../../src/backup/duration.js'
import {planRetention, type RetentionCandidate} from '../../../src/backup/retention.js'

const DAY = 86_400_000
const NOW = Date.UTC(2026, 10, 21, 12, 0, 0)
const clock = (): number => NOW

/** A backup `daysAgo` days before NOW. */
const b = (id: string, daysAgo: number, complete = true): RetentionCandidate => ({id, createdMs: NOW - daysAgo * DAY, complete})
const removed = (plan: {remove: Array<{backup: RetentionCandidate}>}): string[] => plan.remove.map((r) => r.backup.id).sort()

describe('planRetention (fake clock)', () => {
  const week = [b('d0', 0), b('d1', 1), b('d3', 3), b('d6.9', 6.9), b('d7.1', 7.1), b('d30', 30)]

  it('removes exactly the backups older than max age', () => {
    const plan = planRetention(week, {maxAgeMs: 7 * DAY}, clock)
    expect(removed(plan)).toEqual(['d30', 'd7.1'])
    expect(plan.keep.map((k) => k.id)).toEqual(['d0', 'd1', 'd3', 'd6.9'])
    expect(plan.remove[0]?.reason).toBe('older than 1w')
  })

  it('a backup exactly max age old stays; one millisecond older goes', () => {
    const edge = [b('new', 0), {id: 'exact', createdMs: NOW - 7 * DAY, complete: true}, {id: 'over', createdMs: NOW - 7 * DAY - 1, complete: true}]
    expect(removed(planRetention(edge, {maxAgeMs: 7 * DAY}, clock))).toEqual(['over'])
  })

  it('keeps only the newest N with keep, whatever the input order', () => {
    const shuffled = [week[3], week[0], week[5], week[1], week[4], week[2]] as RetentionCandidate[]
    expect(removed(planRetention(shuffled, {keep: 2}, clock))).toEqual(['d3', 'd30', 'd6.9', 'd7.1'])
  })

  it('applies both limits when both are set', () => {
    expect(removed(planRetention(week, {keep: 5, maxAgeMs: 7 * DAY}, clock))).toEqual(['d30', 'd7.1'])
    expect(removed(planRetention(week, {keep: 2, maxAgeMs: 7 * DAY}, clock))).toEqual(['d3', 'd30', 'd6.9', 'd7.1'])
  })

  it('never removes the newest complete backup, even when every backup is too old', () => {
    const old = [b('a', 40), b('b', 20), b('c', 10)]
    const plan = planRetention(old, {maxAgeMs: 7 * DAY}, clock)
    expect(removed(plan)).toEqual(['a', 'b'])
    expect(plan.keep.map((k) => k.id)).toEqual(['c'])
  })

  it('protects the newest complete one, not a newer partial one', () => {
    const mixed = [b('partial-new', 9, false), b('complete-old', 10), b('older', 11)]
    const plan = planRetention(mixed, {maxAgeMs: 7 * DAY}, clock)
    expect(removed(plan)).toEqual(['older', 'partial-new'])
    expect(removed(planRetention(mixed, {keep: 1}, clock))).toEqual(['older'])
  })

  it('with no complete backup at all, limits apply to everything', () => {
    expect(removed(planRetention([b('p1', 10, false), b('p2', 1, false)], {maxAgeMs: 7 * DAY}, clock))).toEqual(['p1'])
  })

  it('keeps everything without limits, and treats future timestamps (clock skew) as new', () => {
    expect(removed(planRetention(week, {}, clock))).toEqual([])
    expect(removed(planRetention(week, {maxAgeMs: null}, clock))).toEqual([])
    expect(removed(planRetention([b('future', -3), b('x', 8), b('y', 1)], {maxAgeMs: 7 * DAY}, clock))).toEqual(['x'])
  })

  it('follows the clock it is given', () => {
    const backups = [b('a', 2), b('b', 0)]
    expect(removed(planRetention(backups, {maxAgeMs: 7 * DAY}, () => NOW))).toEqual([])
    expect(removed(planRetention(backups, {maxAgeMs: 7 * DAY}, () => NOW + 6 * DAY))).toEqual(['a'])
    // b is now old too, but it is the newest complete backup.
    expect(removed(planRetention(backups, {maxAgeMs: 7 * DAY}, () => NOW + 30 * DAY))).toEqual(['a'])
  })

  it('breaks ties on equal timestamps by id, newest id first', () => {
    const same = [b('20261121T120000Z', 0), b('20261121T120000Z-2', 0)]
    expect(removed(planRetention(same, {keep: 1}, clock))).toEqual(['20261121T120000Z'])
  })

  it('is empty for no backups', () => {
    expect(planRetention([], {keep: 1, maxAgeMs: DAY}, clock)).toEqual({keep: [], remove: []})
  })
})

describe('parseMaxAge / formatAge', () => {
  it('reads one number and one unit, or none/off', () => {
    expect(parseMaxAge('7d')).toBe(7 * DAY)
    expect(parseMaxAge('36h')).toBe(36 * 3_600_000)
    expect(parseMaxAge('2w')).toBe(14 * DAY)
    expect(parseMaxAge('90m')).toBe(90 * 60_000)
    expect(parseMaxAge('45s')).toBe(45_000)
    expect(parseMaxAge(' 7D ')).toBe(7 * DAY)
    expect(parseMaxAge('none')).toBeNull()
    expect(parseMaxAge('off')).toBeNull()
  })
  it('rejects anything else', () => {
    for (const bad of ['', '7', 'd', '0d', '-1d', '1.5d', '7 days', '1d2h', '07d']) expect(parseMaxAge(bad), bad).toBeUndefined()
  })
  it('formats ages briefly', () => {
    expect(formatAge(5_000)).toBe('5s')
    expect(formatAge(125_000)).toBe('2m')
    expect(formatAge(5 * 3_600_000)).toBe('5h')
    expect(formatAge(47 * 3_600_000)).toBe('47h')
    expect(formatAge(3 * DAY)).toBe('3d')
    expect(formatAge(-10)).toBe('0s')
  })
})
