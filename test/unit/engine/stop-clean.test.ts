// engine/stop (stop, planClean, clean) against the in-memory engine: reverse dependency order,
// only what carries this project's label is listed and removed, and planning writes nothing.
import {describe, expect, it} from 'vitest'

import type {EngineConnection} from '../../../src/docker/client.js'
import {clean, planClean, stop, type StopEvent} from '../../../src/engine/stop.js'
import {up} from '../../../src/engine/up.js'
import {FakeDocker} from '../../support/fake-docker.js'
import {loadedOf, projectOf, svc} from './fixtures.js'

const db = svc('db')
const api = svc('api', {depends_on: {db: {condition: 'service_started', required: true}}})
const web = svc('web', {depends_on: {api: {condition: 'service_started', required: true}}})

async function running() {
  const fake = new FakeDocker()
  for (const s of [db, api, web]) fake.images.set(s.image as string, {id: `sha256:${s.name}`, labels: s.name === 'web' ? {'com.docker.compose.project': 'p'} : undefined})
  const conn = {engine: fake.engine, endpoint: {host: 'unix:///fake.sock'}, version: '26.1.5', apiVersion: '1.45'} as EngineConnection
  await up(conn, loadedOf({...projectOf([db, api, web]), volumes: {}}), {timeoutMs: 5_000, emit: () => undefined})
  await fake.createVolume({Name: 'p_data', Labels: {'com.docker.compose.project': 'p'}})
  fake.volumeSizes.set('p_data', 4096)
  // Another project's resources, and one with no label at all, beside ours.
  fake.images.set('other:1', {id: 'sha256:other'})
  await (await fake.createContainer({name: 'q-db-1', Image: 'other:1', Labels: {'com.docker.compose.project': 'q', 'com.docker.compose.service': 'db'}})).start()
  await fake.createContainer({name: 'loose', Image: 'other:1'})
  await fake.createNetwork({Name: 'q_default', Labels: {'com.docker.compose.project': 'q'}})
  await fake.createVolume({Name: 'q_data', Labels: {'com.docker.compose.project': 'q'}})
  await fake.createVolume({Name: 'unlabelled'})
  fake.log.length = 0
  return {fake, conn}
}

describe('stop (fake engine)', () => {
  it('stops dependents before their dependencies; a second stop finds them already stopped', async () => {
    const {fake, conn} = await running()
    const events: StopEvent[] = []
    await stop(conn, 'p', [], (e) => events.push(e))
    expect(fake.log).toEqual(['stop web', 'stop api', 'stop db'])
    expect([...fake.containers.values()].find((c) => c.name === 'q-db-1')?.status).toBe('running')
    const again: StopEvent[] = []
    await stop(conn, 'p', [], (e) => again.push(e))
    expect(again.map((e) => e.status)).toEqual(['already stopped', 'already stopped', 'already stopped'])
    expect(fake.log).toHaveLength(3)
  })

  it('stops only the services named', async () => {
    const {fake, conn} = await running()
    await stop(conn, 'p', ['api'], () => undefined)
    expect(fake.log).toEqual(['stop api'])
  })
})

describe('clean (fake engine)', () => {
  it('plans only what carries the project\'s label (volumes and images on request) and writes nothing while planning', async () => {
    const {fake, conn} = await running()
    const plain = await planClean(conn, 'p', {volumes: false, images: false})
    expect(plain.map((i) => `${i.kind} ${i.name}`).sort()).toEqual(['container p-api-1', 'container p-db-1', 'container p-web-1', 'network p_default'])
    const all = await planClean(conn, 'p', {volumes: true, images: true})
    expect(all.filter((i) => i.kind === 'volume' || i.kind === 'image').map((i) => [i.kind, i.name, i.size])).toEqual([['volume', 'p_data', 4096], ['image', 'web:1', undefined]])
    expect(fake.log).toEqual([])
  })

  it('removes exactly the planned, labelled items, containers before their network; the other project is untouched', async () => {
    const {fake, conn} = await running()
    const items = await planClean(conn, 'p', {volumes: true, images: true})
    const removed: string[] = []
    await clean(conn, 'p', items, (i) => removed.push(`${i.kind} ${i.name}`))
    expect(removed.sort()).toEqual(['container p-api-1', 'container p-db-1', 'container p-web-1', 'image web:1', 'network p_default', 'volume p_data'])
    expect(fake.log.indexOf('network remove p_default')).toBeGreaterThan(Math.max(...['api', 'db', 'web'].map((s) => fake.log.indexOf(`remove ${s}`))))
    expect([...fake.containers.values()].map((c) => c.name).sort()).toEqual(['loose', 'q-db-1'])
    expect([...fake.volumes.keys()].sort()).toEqual(['q_data', 'unlabelled'])
    expect([...fake.networks.keys()]).toEqual(['q_default'])
    expect([...fake.images.keys()].sort()).toEqual(['api:1', 'db:1', 'other:1'])
  })

  it('skips an item replaced by an unlabelled one between plan and removal', async () => {
    const {fake, conn} = await running()
    const items = await planClean(conn, 'p', {volumes: true, images: false})
    // p_data is recreated by someone else, without the label, after the plan was shown.
    fake.volumes.set('p_data', {name: 'p_data', labels: {}})
    const removed: string[] = []
    await clean(conn, 'p', items, (i) => removed.push(i.name))
    expect(removed).not.toContain('p_data')
    expect(fake.volumes.has('p_data')).toBe(true)
  })
})
