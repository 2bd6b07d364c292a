// engine/images: pulling what is missing (progress summed over layers), refusing early when an
// image can be neither found nor pulled, and reading each image's id and own healthcheck, against
// the in-memory engine. Building runs the docker CLI and is left to e2e.
import {describe, expect, it} from 'vitest'

import type {EngineEvent} from '../../../src/engine/events.js'
import {ensureImages, ImageError, imageFacts, pullImage} from '../../../src/engine/images.js'
import {FakeDocker} from '../../support/fake-docker.js'
import {loadedOf, projectOf, svc} from './fixtures.js'

describe('images (fake engine)', () => {
  it('pullImage sums progress over layers and ends with everything downloaded', async () => {
    const fake = new FakeDocker()
    fake.registry.set('redis:7', {id: 'sha256:redis7', layers: {a: 1000, b: 3000}})
    const progress: Array<[number, number]> = []
    await pullImage(fake.engine, 'redis:7', (p) => progress.push([p.current, p.total]))
    expect(progress.at(-1)).toEqual([4000, 4000])
    expect(progress).toContainEqual([2000, 4000])
    expect(await imageFacts(fake.engine, 'redis:7')).toEqual({id: 'sha256:redis7', healthcheck: undefined})
  })

  it('a pull that fails part-way rejects with the registry\'s words', async () => {
    const fake = new FakeDocker()
    fake.registry.set('redis:7', {id: 'sha256:redis7', layers: {a: 10}, error: 'unexpected EOF'})
    await expect(pullImage(fake.engine, 'redis:7', () => undefined)).rejects.toThrow('unexpected EOF')
    expect(await imageFacts(fake.engine, 'redis:7')).toBeUndefined()
  })

  it('ensureImages pulls only what is missing, once per image shared by services, and reads ids and healthchecks', async () => {
    const fake = new FakeDocker()
    const check = {Test: ['CMD', 'redis-cli', 'ping'], Timeout: 2e9}
    fake.images.set('db:1', {id: 'sha256:db1', healthcheck: check})
    fake.registry.set('cache:1', {id: 'sha256:cache1', layers: {l: 10}})
    const loaded = loadedOf(projectOf([svc('db'), svc('c1', {image: 'cache:1'}), svc('c2', {image: 'cache:1'})]))
    const events: EngineEvent[] = []
    const result = await ensureImages(fake.engine, loaded, ['db', 'c1', 'c2'], {emit: (e) => events.push(e)})
    expect(result.ids).toEqual({db: 'sha256:db1', c1: 'sha256:cache1', c2: 'sha256:cache1'})
    expect(result.healthchecks.db).toEqual(check)
    expect(fake.log).toEqual(['image pull cache:1'])
    expect(events.filter((e) => e.type === 'image').map((e) => e.type === 'image' && `${e.service} ${e.phase} ${e.status}`)).toEqual(['c1 pull start', 'c1 pull done'])
  })

  it('an image neither here nor pullable fails with ImageError naming the service, after the other pulls finished', async () => {
    const fake = new FakeDocker()
    fake.registry.set('ok:1', {id: 'sha256:ok', layers: {l: 1}})
    const loaded = loadedOf(projectOf([svc('good', {image: 'ok:1'}), svc('bad', {image: 'nowhere:1'})]))
    const error = await ensureImages(fake.engine, loaded, ['good', 'bad'], {emit: () => undefined}).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ImageError)
    expect((error as ImageError).message).toBe('bad: could not pull image nowhere:1: pull access denied for nowhere:1: no registry here')
    expect(fake.images.has('ok:1')).toBe(true)
  })
})
