/**
 * Keys tta used to refuse that Compose 2.26 accepts: parsed into the model in the shapes
 * `docker compose config` prints (checked against it), and passed to the engine by containerSpec.
 * Also `develop.watch`.
 */
import {mkdtempSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {describe, expect, it} from 'vitest'

import {loadProject} from '../../../src/compose/load.js'
import {composeView} from '../../../src/compose/view.js'
import {buildArgs} from '../../../src/engine/images.js'
import {containerSpec} from '../../../src/engine/spec.js'
import {InputErrors} from '../../../src/errors.js'

function load(text: string): {dir: string; file: string; loaded: ReturnType<typeof loadProject>} {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tta-keys-'))
  const file = path.join(dir, 'c.yml')
  writeFileSync(file, text)
  return {dir, file, loaded: loadProject({files: [file], environment: {}, envFiles: [], projectName: 'p'})}
}

function errorsOf(text: string): string[] {
  try {
    load(text)
  } catch (e) {
    if (e instanceof InputErrors) return e.errors.map((x) => x.message)
    throw e
  }
  throw new Error('expected InputErrors')
}

const KEYS = `
services:
  a:
    image: x
    volumes_from: [b, "c:ro", "container:foo:rw"]
    links: [b, "c:alias"]
    external_links: [ext1, "ext2:al"]
    pids_limit: 100
    cgroup: host
    cgroup_parent: foo
    userns_mode: host
    runtime: runc
    devices: ["/dev/null:/dev/xnull:rwm", "/dev/zero", {source: /dev/random, target: /dev/r, permissions: r}]
    device_cgroup_rules: ["c 1:3 mr"]
    dns_opt: [use-vc]
    dns_search: example.com
    group_add: [mail, 42]
    oom_kill_disable: true
    oom_score_adj: 500
    mem_reservation: 64m
    mem_swappiness: 10
    memswap_limit: 1g
    cpu_shares: 512
    cpu_period: 100000
    cpu_quota: 50000
    cpu_rt_period: 1000
    cpu_rt_runtime: 500
    cpuset: "0"
    uts: host
    storage_opt: {size: 1G}
    annotations: [com.example=1]
    mac_address: "02:42:ac:11:00:02"
    attach: false
    build:
      context: .
      platforms: [linux/amd64]
      tags: ["foo:1"]
      ssh: [default, "key=/tmp/x"]
  b: {image: x}
  c: {image: x}
`

describe('keys Compose accepts (were "not supported by tta")', () => {
  it('are in the model as docker compose config prints them', () => {
    const {dir, loaded} = load(KEYS)
    const view = composeView(loaded.project) as {services: Record<string, Record<string, unknown>>}
    // The values below are docker compose 2.26.1's `config --format json` for the same file.
    expect(view.services.a).toMatchObject({
      annotations: {'com.example': '1'},
      attach: false,
      build: {context: dir, dockerfile: 'Dockerfile', platforms: ['linux/amd64'], tags: ['foo:1'], ssh: ['default', 'key=/tmp/x']},
      cgroup: 'host',
      cgroup_parent: 'foo',
      cpu_period: 100000,
      cpu_quota: 50000,
      cpu_rt_period: 1000,
      cpu_rt_runtime: 500,
      cpu_shares: 512,
      cpuset: '0',
      depends_on: {
        b: {condition: 'service_started', restart: true, required: true},
        c: {condition: 'service_started', restart: true, required: true},
      },
      device_cgroup_rules: ['c 1:3 mr'],
      devices: [
        {source: '/dev/null', target: '/dev/xnull', permissions: 'rwm'},
        {source: '/dev/zero', target: '/dev/zero', permissions: 'rwm'},
        {source: '/dev/random', target: '/dev/r', permissions: 'r'},
      ],
      dns_opt: ['use-vc'],
      dns_search: ['example.com'],
      external_links: ['ext1', 'ext2:al'],
      group_add: ['mail', '42'],
      links: ['b', 'c:alias'],
      mac_address: '02:42:ac:11:00:02',
      mem_reservation: '67108864',
      mem_swappiness: '10',
      memswap_limit: '1073741824',
      oom_kill_disable: true,
      oom_score_adj: 500,
      pids_limit: 100,
      runtime: 'runc',
      storage_opt: {size: '1G'},
      userns_mode: 'host',
      uts: 'host',
      volumes_from: ['b', 'c:ro', 'container:foo:rw'],
    })
  })

  it('reach the engine as HostConfig fields, services named by their containers', () => {
    const {loaded} = load(KEYS)
    const a = loaded.project.services.a
    if (!a) throw new Error('no service a')
    const spec = containerSpec({loaded, apiVersion: '1.45'}, a)
    expect(spec.HostConfig).toMatchObject({
      VolumesFrom: ['p-b-1', 'p-c-1:ro', 'foo:rw'],
      PidsLimit: 100,
      CgroupnsMode: 'host',
      CgroupParent: 'foo',
      UsernsMode: 'host',
      Runtime: 'runc',
      Devices: [
        {PathOnHost: '/dev/null', PathInContainer: '/dev/xnull', CgroupPermissions: 'rwm'},
        {PathOnHost: '/dev/zero', PathInContainer: '/dev/zero', CgroupPermissions: 'rwm'},
        {PathOnHost: '/dev/random', PathInContainer: '/dev/r', CgroupPermissions: 'r'},
      ],
      DeviceCgroupRules: ['c 1:3 mr'],
      DnsOptions: ['use-vc'],
      DnsSearch: ['example.com'],
      GroupAdd: ['mail', '42'],
      CpuShares: 512,
      CpuPeriod: 100000,
      CpuQuota: 50000,
      CpuRealtimePeriod: 1000,
      CpuRealtimeRuntime: 500,
      CpusetCpus: '0',
      MemoryReservation: 67108864,
      MemorySwappiness: 10,
      MemorySwap: 1073741824,
      OomKillDisable: true,
      OomScoreAdj: 500,
      StorageOpt: {size: '1G'},
      UTSMode: 'host',
      Annotations: {'com.example': '1'},
    })
    // Links and (from API 1.44) the MAC address go on the project network's endpoint, as with
    // Compose: the engine ignores HostConfig.Links on a user-defined network.
    expect(spec.NetworkingConfig?.EndpointsConfig?.p_default).toMatchObject({
      MacAddress: '02:42:ac:11:00:02',
      Links: ['p-b-1:b', 'p-b-1:b-1', 'p-b-1:p-b-1', 'p-c-1:alias', 'p-c-1:c-1', 'p-c-1:p-c-1', 'ext1:ext1', 'ext2:al'],
    })
    expect(spec.HostConfig).not.toHaveProperty('Links')
    expect((spec as {MacAddress?: string}).MacAddress).toBeUndefined()
    const old = containerSpec({loaded, apiVersion: '1.41'}, a)
    expect((old as {MacAddress?: string}).MacAddress).toBe('02:42:ac:11:00:02')
    expect(old.HostConfig).not.toHaveProperty('Annotations')
    expect(buildArgs('p', a)).toEqual(expect.arrayContaining(['-t', 'foo:1', '--platform', 'linux/amd64', '--ssh', 'default', '--ssh', 'key=/tmp/x']))
  })

  it('service:X namespaces name the container of X', () => {
    const {loaded} = load('services:\n  a: {image: x, network_mode: "service:b", ipc: "service:b", pid: "service:b"}\n  b: {image: x}\n')
    const a = loaded.project.services.a
    if (!a) throw new Error('no service a')
    const spec = containerSpec({loaded, apiVersion: '1.45'}, a)
    expect(spec.HostConfig).toMatchObject({NetworkMode: 'container:p-b-1', IpcMode: 'container:p-b-1', PidMode: 'container:p-b-1'})
    // The engine lets a container join only a "shareable" IPC namespace.
    const b = loaded.project.services.b
    if (!b) throw new Error('no service b')
    expect(containerSpec({loaded, apiVersion: '1.45'}, b).HostConfig?.IpcMode).toBe('shareable')
  })

  it.each([
    ['cgroup: other', /5:13: services\.a\.cgroup: invalid cgroup "other" \(expected host or private\)/],
    ['devices: ["a:b:c:d"]', /5:15: services\.a\.devices\[0\]: invalid device "a:b:c:d"/],
    ['volumes_from: ["b:rx"]', /5:20: services\.a\.volumes_from\[0\]: invalid volumes_from "b:rx"/],
    ['oom_score_adj: 5000', /5:20: services\.a\.oom_score_adj: oom_score_adj must be between -1000 and 1000/],
    ['mem_swappiness: 101', /5:21: services\.a\.mem_swappiness: mem_swappiness must be between 0 and 100/],
    ['links: [zz]', /5:13: services\.a\.links\[0\]: service "a" depends on undefined service "zz"/],
  ])('refuses bad values with file:line (%s)', (line, message) => {
    expect(errorsOf(`services:\n  b: {image: x}\n  a:\n    image: x\n    ${line}\n`)).toEqual([expect.stringMatching(message)])
  })
})

describe('develop.watch', () => {
  const DEVELOP = `
services:
  a:
    image: x
    develop:
      watch:
        - path: ./src
          action: sync
          target: /app/src
          ignore: [node_modules/]
          include: ["*.py"]
          initial_sync: true
        - path: package.json
          action: rebuild
        - path: ./cfg
          action: sync+exec
          target: /etc/cfg
          exec:
            command: kill -HUP 1
            user: root
            privileged: true
            working_dir: /
            environment: [A=1]
        - {path: ./x, action: sync+restart, target: /x}
        - {path: ./y, action: restart}
`

  it('is kept typed in the model, paths absolute', () => {
    const {dir, loaded} = load(DEVELOP)
    expect(loaded.project.services.a?.develop).toEqual({
      watch: [
        {path: path.join(dir, 'src'), action: 'sync', target: '/app/src', ignore: ['node_modules/'], include: ['*.py'], initial_sync: true},
        {path: path.join(dir, 'package.json'), action: 'rebuild'},
        {
          path: path.join(dir, 'cfg'),
          action: 'sync+exec',
          target: '/etc/cfg',
          exec: {command: ['kill', '-HUP', '1'], user: 'root', privileged: true, working_dir: '/', environment: {A: '1'}},
        },
        {path: path.join(dir, 'x'), action: 'sync+restart', target: '/x'},
        {path: path.join(dir, 'y'), action: 'restart'},
      ],
    })
  })

  it('prints as Compose does: exec {command: null} on rules without one', () => {
    const {loaded} = load(DEVELOP)
    const view = composeView(loaded.project) as {services: {a: {develop: {watch: Array<Record<string, unknown>>}}}}
    expect(view.services.a.develop.watch[1]).toEqual({path: expect.stringMatching(/package\.json$/), action: 'rebuild', exec: {command: null}})
  })

  it.each([
    ['- {action: sync, target: /a}', /7:11: services\.a\.develop\.watch\[0\]: path is required/],
    ['- {path: ., action: bogus}', /7:29: services\.a\.develop\.watch\[0\]\.action: action must be one of rebuild, sync, restart, sync\+restart or sync\+exec \(got "bogus"\)/],
    ['- {path: ., action: sync}', /7:11: services\.a\.develop\.watch\[0\]: target is required for the sync action/],
    ['- {path: ., action: sync+exec, target: /a}', /7:11: services\.a\.develop\.watch\[0\]: the sync\+exec action needs exec\.command/],
    ['- {path: ., action: sync, target: /a, bogus: 1}', /7:47: services\.a\.develop\.watch\[0\]\.bogus: unknown key "bogus"/],
  ])('refuses %s with file:line', (rule, message) => {
    expect(errorsOf(`services:\n  a:\n    image: x\n    develop:\n      watch:\n        ${rule}\n`.replace('        -', '\n        -'))).toEqual([expect.stringMatching(message)])
  })
})
