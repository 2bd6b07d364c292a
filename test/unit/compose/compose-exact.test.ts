/**
 * Issue 18, "compose-exact loader": the last keys tta refused that Compose 2.26 accepts, and the
 * refusals Compose makes that tta did not. Expected views are what `docker compose config --format
 * json` (2.26.1) printed for the same files (the conformance corpus holds the originals).
 */
import {mkdtempSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {describe, expect, it} from 'vitest'

import {loadProject} from '../../../src/compose/load.js'
import type {LoadedProject} from '../../../src/compose/model.js'
import {composeView} from '../../../src/compose/view.js'
import {errorsOf} from './support.js'

function write(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tta-exact-'))
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text)
  return dir
}

function load(text: string, overlay?: string): {dir: string; file: string; loaded: LoadedProject} {
  const dir = write(overlay === undefined ? {'c.yml': text} : {'c.yml': text, 'o.yml': overlay})
  const files = [path.join(dir, 'c.yml'), ...(overlay === undefined ? [] : [path.join(dir, 'o.yml')])]
  return {dir, file: files[0] as string, loaded: loadProject({files, environment: {}, envFiles: [], projectName: 'p'})}
}

type View = {services: Record<string, Record<string, unknown>>; networks?: Record<string, Record<string, unknown>>; secrets?: Record<string, unknown>; configs?: Record<string, unknown>}
const viewOf = (loaded: LoadedProject): View => composeView(loaded.project) as View

describe('build keys', () => {
  it('parses shm_size, ulimits, additional_contexts, privileged, entitlements and secrets as Compose prints them', () => {
    const {dir, loaded} = load(`
services:
  base: {build: ./base}
  a:
    build:
      context: .
      shm_size: 2gb
      ulimits: {nproc: 65535, nofile: {soft: 20000, hard: 40000}}
      additional_contexts: [src=./src, app=docker-image://my-app:latest, base=service:base, git=https://github.com/x/y.git]
      privileged: true
      entitlements: [network.host]
      secrets: [token, {source: key, target: build_key}]
secrets:
  token: {file: ./token.txt}
  key: {environment: KEY}
`)
    const view = viewOf(loaded)
    expect(view.services.a?.build).toEqual({
      context: dir,
      dockerfile: 'Dockerfile',
      shm_size: '2147483648',
      ulimits: {nofile: {soft: 20000, hard: 40000}, nproc: 65535},
      additional_contexts: {src: path.join(dir, 'src'), app: 'docker-image://my-app:latest', base: 'service:base', git: 'https://github.com/x/y.git'},
      privileged: true,
      entitlements: ['network.host'],
      // A build secret gets no default target (a service secret gets /run/secrets/<name>).
      secrets: [{source: 'token'}, {source: 'key', target: 'build_key'}],
    })
    // Secrets only a build uses are still the project's (Compose prints them).
    expect(Object.keys(view.secrets ?? {})).toEqual(['key', 'token'])
  })

  it('merges additional_contexts across overlays by name', () => {
    const {loaded} = load('services:\n  a:\n    build: {context: ., additional_contexts: {one: /a}}\n', 'services:\n  a:\n    build: {additional_contexts: [two=/b]}\n')
    expect(loaded.project.services.a?.build?.additional_contexts).toEqual({one: '/a', two: '/b'})
  })

  it.each([
    ['additional_contexts: {x: "service:ghost"}', /services\.a\.build\.additional_contexts\.x: additional context "x" names undefined service "ghost"/],
    ['additional_contexts: {x: "service:b"}', /services\.a\.build\.additional_contexts\.x: additional context "x" names service "b", which has no build section/],
    ['secrets: [nope]', /services\.a\.build\.secrets\[0\]: undefined secret "nope"/],
  ])('refuses %s with file:line', (line, message) => {
    expect(errorsOf(() => load(`services:\n  b: {image: x}\n  a:\n    build:\n      context: .\n      ${line}\n`))).toEqual([expect.stringMatching(new RegExp(`c\\.yml:\\d+:\\d+: ${message.source}`))])
  })

  it('refuses a service platform its build.platforms lacks, as Compose does', () => {
    const text = 'services:\n  a:\n    image: x\n    platform: linux/riscv64\n    build: {context: ., platforms: [linux/amd64, linux/arm64]}\n'
    expect(errorsOf(() => load(text))).toEqual([expect.stringMatching(/c\.yml:4:15: services\.a\.platform: build\.platforms must include the service's platform "linux\/riscv64"/)])
    expect(() => load(text.replace('riscv64', 'arm64'))).not.toThrow()
  })
})

describe('device requests: gpus and deploy reservations', () => {
  it('defaults the count to all (-1) unless device_ids are given; gpus: all is one such request', () => {
    const {loaded} = load(`
services:
  a:
    image: x
    gpus:
      - driver: nvidia
      - {driver: 3dfx, device_ids: [voodoo2], capabilities: [directX]}
    deploy:
      resources:
        reservations:
          devices:
            - {driver: nvidia, capabilities: [gpu], count: "1"}
            - {capabilities: [gpu], count: all, options: [a=b]}
            - {capabilities: [gpu]}
  b: {image: x, gpus: all}
`)
    const view = viewOf(loaded)
    expect(view.services.a?.gpus).toEqual([{driver: 'nvidia', count: -1}, {capabilities: ['directX'], driver: '3dfx', device_ids: ['voodoo2']}])
    expect(view.services.a?.deploy).toMatchObject({
      resources: {
        reservations: {
          devices: [
            {capabilities: ['gpu'], driver: 'nvidia', count: 1},
            {capabilities: ['gpu'], count: -1, options: {a: 'b'}},
            {capabilities: ['gpu'], count: -1},
          ],
        },
      },
    })
    expect(view.services.b?.gpus).toEqual([{count: -1}])
  })

  it.each([
    ['deploy: {resources: {reservations: {devices: [{driver: nvidia}]}}}', /services\.a\.deploy\.resources\.reservations\.devices\[0\]: capabilities is required/],
    ['gpus: [{count: 1, device_ids: ["0"]}]', /services\.a\.gpus\[0\]\.count: "count" and "device_ids" are exclusive/],
    ['gpus: [{count: some}]', /services\.a\.gpus\[0\]\.count: invalid count "some"/],
    ['gpus: some', /services\.a\.gpus: invalid gpus "some"/],
  ])('refuses %s with file:line', (line, message) => {
    expect(errorsOf(() => load(`services:\n  a:\n    image: x\n    ${line}\n`))).toEqual([expect.stringMatching(new RegExp(`c\\.yml:\\d+:\\d+: ${message.source}`))])
  })
})

describe('blkio_config and credential_spec', () => {
  it('prints blkio_config with Go field names and rates in bytes, as Compose does', () => {
    const {loaded} = load(`
services:
  a:
    image: x
    blkio_config:
      weight: 300
      weight_device: [{path: /dev/sda, weight: 400}]
      device_read_bps: [{path: /dev/test, rate: 1024k}]
      device_write_bps: [{path: /dev/test, rate: 1024}]
      device_read_iops: [{path: /dev/test, rate: "100"}]
`)
    expect(viewOf(loaded).services.a?.blkio_config).toEqual({
      weight: 300,
      weight_device: [{Path: '/dev/sda', Weight: 400}],
      device_read_bps: [{Path: '/dev/test', Rate: '1048576'}],
      device_write_bps: [{Path: '/dev/test', Rate: '1024'}],
      device_read_iops: [{Path: '/dev/test', Rate: '100'}],
    })
  })

  it('refuses a weight the engine refuses (10-1000)', () => {
    expect(errorsOf(() => load('services:\n  a:\n    image: x\n    blkio_config: {weight: 5}\n'))).toEqual([
      expect.stringMatching(/c\.yml:4:28: services\.a\.blkio_config\.weight: blkio weight must be between 10 and 1000 \(got 5\)/),
    ])
  })

  it('keeps credential_spec in the config and warns, with file:line, that it is ignored', () => {
    const {file, loaded} = load('services:\n  a:\n    image: x\n    credential_spec: {config: abc}\n')
    expect(viewOf(loaded).services.a?.credential_spec).toEqual({config: 'abc'})
    expect(loaded.warnings).toEqual([expect.stringContaining(`${file}:4:5: services.a.credential_spec: credential_spec is ignored: it configures gMSA for Windows containers`)])
  })
})

describe('networks', () => {
  it('parses link_local_ips and driver_opts on a service network', () => {
    const {loaded} = load(`
services:
  a:
    image: x
    networks:
      n1:
        ipv4_address: 10.1.0.100
        link_local_ips: ["fe80::1:95ff:fe20:100"]
        driver_opts: {com.docker.network.endpoint.sysctls: "ipv6.conf.accept_ra=0"}
networks:
  n1: {ipam: {config: [{subnet: 10.1.0.0/16}]}}
`)
    expect(viewOf(loaded).services.a?.networks).toEqual({
      n1: {ipv4_address: '10.1.0.100', link_local_ips: ['fe80::1:95ff:fe20:100'], driver_opts: {'com.docker.network.endpoint.sysctls': 'ipv6.conf.accept_ra=0'}},
    })
  })

  it('parses enable_ipv4 (remembering where it was written), aux_addresses, and ipam options (not printed, as Compose 2.26)', () => {
    const {file, loaded} = load(`
services:
  a: {image: x, networks: [n1]}
networks:
  n1:
    enable_ipv4: false
    enable_ipv6: true
    ipam:
      options: {foo: bar}
      config:
        - subnet: 172.28.0.0/16
          aux_addresses: {host1: 172.28.1.5}
`)
    expect(viewOf(loaded).networks?.n1).toEqual({
      name: 'p_n1',
      enable_ipv4: false,
      enable_ipv6: true,
      ipam: {config: [{subnet: '172.28.0.0/16', aux_addresses: {host1: '172.28.1.5'}}]},
    })
    expect(loaded.project.networks.n1?.ipam?.options).toEqual({foo: 'bar'})
    expect(loaded.sources?.['networks.n1.enable_ipv4']).toBe(`${file}:6:5`)
  })
})

describe('secrets and configs', () => {
  it('keeps template_driver', () => {
    const {loaded} = load(`
services:
  a: {image: x, secrets: [s], configs: [c]}
secrets:
  s: {name: s, external: true, template_driver: secret-driver}
configs:
  c: {file: ./c.txt, template_driver: golang}
`)
    const view = viewOf(loaded)
    expect(view.secrets?.s).toEqual({name: 's', external: true, template_driver: 'secret-driver'})
    expect(view.configs?.c).toMatchObject({template_driver: 'golang'})
  })

  it.each(['volumes', 'secrets', 'networks'])('refuses %s with both name and a different external.name, as Compose does', (section) => {
    const text = `${section}:\n  r:\n    name: user_specified_name\n    external:\n      name: external_name\n`
    expect(errorsOf(() => load(text))).toEqual([
      expect.stringMatching(new RegExp(`c\\.yml:5:7: ${section}\\.r\\.external\\.name: name and external\\.name conflict \\("user_specified_name" and "external_name"\\); only use name`)),
    ])
    // The same name twice is no conflict.
    expect(() => load(text.replace('external_name', 'user_specified_name'))).not.toThrow()
  })
})

describe('devices across overlays', () => {
  it('merges by target: an overlay remaps a device in place and keeps the others', () => {
    const {loaded} = load(
      "services:\n  a:\n    image: x\n    devices: ['/dev/sda:/dev/sda', '/dev/sdb:/dev/sdb', '/dev/sdd:/dev/sdd']\n",
      "services:\n  a:\n    devices: ['/dev/nvme0n1p1:/dev/sda', '/dev/nvme1n1p1:/dev/sdb']\n",
    )
    expect(loaded.project.services.a?.devices).toEqual([
      {source: '/dev/nvme0n1p1', target: '/dev/sda', permissions: 'rwm'},
      {source: '/dev/nvme1n1p1', target: '/dev/sdb', permissions: 'rwm'},
      {source: '/dev/sdd', target: '/dev/sdd', permissions: 'rwm'},
    ])
  })
})
