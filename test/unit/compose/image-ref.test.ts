import {describe, expect, it} from 'vitest'

import {parseImageReference, splitImageRef} from '../../../src/compose/image-ref.js'

describe('image references', () => {
  it('accepts valid references and splits them', () => {
    expect(parseImageReference('redis:7.2.4-alpine')).toEqual({path: 'redis', tag: '7.2.4-alpine'})
    expect(parseImageReference('prom/prometheus:v2.48.1')).toEqual({path: 'prom/prometheus', tag: 'v2.48.1'})
    expect(parseImageReference('gcr.io/cadvisor/cadvisor:v0.47.2')).toEqual({
      domain: 'gcr.io',
      path: 'cadvisor/cadvisor',
      tag: 'v0.47.2',
    })
    expect(parseImageReference('localhost:5000/tta/admin-api:dev')).toEqual({
      domain: 'localhost:5000',
      path: 'tta/admin-api',
      tag: 'dev',
    })
    expect(parseImageReference('tta-standin/redis:local')).toEqual({path: 'tta-standin/redis', tag: 'local'})
    expect(parseImageReference('a__b/c.d-e---f')).toEqual({path: 'a__b/c.d-e---f'})
    const digest = 'sha256:' + 'a'.repeat(64)
    expect(parseImageReference(`busybox@${digest}`)).toEqual({path: 'busybox', digest})
    expect(parseImageReference(`[::1]:5000/x:1@${digest}`).domain).toBe('[::1]:5000')
  })

  it('rejects invalid references with a reason', () => {
    const cases: Record<string, RegExp> = {
      'prom/prometheus:v2.48.1:v2.45.0': /more than one tag/,
      'grafana/grafana:10.2.3:10.2.3': /more than one tag/,
      'Redis:7': /must be lowercase/,
      'Upper/case': /must be lowercase/,
      'redis:': /empty tag/,
      '': /empty/,
      'redis:-bad': /bad tag/,
      'a//b': /bad repository name/,
      '-redis': /bad repository name/,
      'redis_:1': /bad repository name/,
      'busybox@sha256:abc': /bad digest/,
      [`redis:${'x'.repeat(129)}`]: /bad tag/,
    }
    for (const [ref, re] of Object.entries(cases)) expect(() => parseImageReference(ref), ref).toThrow(re)
  })
})

describe('splitImageRef (lenient: any image a container runs)', () => {
  it('splits registry, path, tag, digest and base the way Docker reads them', () => {
    expect(splitImageRef('registry:5000/library/postgres:15@sha256:abc')).toEqual({domain: 'registry:5000', path: 'library/postgres', tag: '15', digest: 'sha256:abc', base: 'postgres'})
    expect(splitImageRef('redis:7.2.4-alpine')).toEqual({path: 'redis', tag: '7.2.4-alpine', base: 'redis'})
    expect(splitImageRef('tta-standin/redis:local')).toEqual({path: 'tta-standin/redis', tag: 'local', base: 'redis'})
    expect(splitImageRef('localhost/app')).toEqual({domain: 'localhost', path: 'app', base: 'app'})
    // TTA's own files once had a doubled tag; the base is still the repository's.
    expect(splitImageRef('prom/prometheus:v2.48.1:v2.45.0').base).toBe('prometheus')
  })
})
