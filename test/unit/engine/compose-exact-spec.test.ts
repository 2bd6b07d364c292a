/**
 * The engine side of issue 18's last keys: the pure functions that turn them into the Engine API's
 * create options (containers, networks) and `docker build` flags.
 */
import {describe, expect, it} from 'vitest'

import type {LoadedProject, NetworkConfig} from '../../../src/compose/model.js'
import {swarmFiles} from '../../../src/deploy/swarm-spec.js'
import {buildArgs, buildkitOnly, withBuildContexts} from '../../../src/engine/images.js'
import {containerSpec, endpointSettings, ignoredSettings, networkSpec} from '../../../src/engine/spec.js'
import {TtaError} from '../../../src/errors.js'
import {loadedOf, projectOf, svc} from './fixtures.js'

describe('containerSpec', () => {
  const gpu = svc('gpu', {
    gpus: [{driver: 'nvidia', count: -1}, {driver: '3dfx', device_ids: ['voodoo2'], capabilities: ['directX'], options: {a: 'b'}}],
    deploy: {resources: {reservations: {devices: [{capabilities: ['gpu', 'utility'], driver: 'nvidia', count: 1}]}}},
    blkio_config: {
      weight: 300,
      weight_device: [{Path: '/dev/sda', Weight: 400}],
      device_read_bps: [{Path: '/dev/sda', Rate: '1048576'}],
      device_read_iops: [{Path: '/dev/sda', Rate: '100'}],
      device_write_bps: [{Path: '/dev/sda', Rate: '1024'}],
      device_write_iops: [{Path: '/dev/sda', Rate: '50'}],
    },
    networks: {default: {ipv4_address: '10.0.0.5', link_local_ips: ['169.254.1.1'], driver_opts: {'com.docker.network.endpoint.sysctls': 'x=1'}}},
  })
  const loaded = loadedOf(projectOf([gpu]))

  it('passes gpus and reserved devices as DeviceRequests (gpus always ask for the gpu capability)', () => {
    expect(containerSpec({loaded, apiVersion: '1.45'}, gpu).HostConfig?.DeviceRequests).toEqual([
      {Driver: 'nvidia', Count: -1, Capabilities: [['gpu']]},
      {Driver: '3dfx', Count: 0, DeviceIDs: ['voodoo2'], Capabilities: [['directX', 'gpu']], Options: {a: 'b'}},
      {Driver: 'nvidia', Count: 1, Capabilities: [['gpu', 'utility']]},
    ])
  })

  it('passes blkio_config as the Blkio* fields, rates as numbers', () => {
    expect(containerSpec({loaded, apiVersion: '1.45'}, gpu).HostConfig).toMatchObject({
      BlkioWeight: 300,
      BlkioWeightDevice: [{Path: '/dev/sda', Weight: 400}],
      BlkioDeviceReadBps: [{Path: '/dev/sda', Rate: 1048576}],
      BlkioDeviceReadIOps: [{Path: '/dev/sda', Rate: 100}],
      BlkioDeviceWriteBps: [{Path: '/dev/sda', Rate: 1024}],
      BlkioDeviceWriteIOps: [{Path: '/dev/sda', Rate: 50}],
    })
  })

  it('leaves the fields out when the keys are unset', () => {
    const plain = svc('plain')
    const host = containerSpec({loaded: loadedOf(projectOf([plain])), apiVersion: '1.45'}, plain).HostConfig
    for (const key of ['DeviceRequests', 'BlkioWeight', 'BlkioDeviceReadBps']) expect(host).not.toHaveProperty(key)
  })

  it('puts link_local_ips and driver_opts on the endpoint', () => {
    const endpoint = containerSpec({loaded, apiVersion: '1.45'}, gpu).NetworkingConfig?.EndpointsConfig?.p_default
    expect(endpoint).toMatchObject({IPAMConfig: {IPv4Address: '10.0.0.5', LinkLocalIPs: ['169.254.1.1']}, DriverOpts: {'com.docker.network.endpoint.sysctls': 'x=1'}})
    const linkLocalOnly = svc('x', {networks: {default: {link_local_ips: ['169.254.1.2']}}})
    expect(endpointSettings(linkLocalOnly, 'default', loaded.project).IPAMConfig).toEqual({IPv4Address: undefined, IPv6Address: undefined, LinkLocalIPs: ['169.254.1.2']})
  })
})

describe('networkSpec', () => {
  const withNetwork = (network: NetworkConfig): LoadedProject => {
    const loaded = loadedOf({...projectOf([svc('a')]), networks: {n: network}})
    return {...loaded, sources: {'networks.n.enable_ipv4': '/ws/compose/a.yml:7:5'}}
  }

  it('passes IPAM pools with their auxiliary addresses, and IPAM options', () => {
    const loaded = withNetwork({
      name: 'p_n',
      driver: 'bridge',
      ipam: {driver: 'default', config: [{subnet: '172.28.0.0/16', gateway: '172.28.5.254', ip_range: '172.28.5.0/24', aux_addresses: {host1: '172.28.1.5'}}], options: {foo: 'bar'}},
    })
    expect(networkSpec(loaded, 'n', 'p_n', '1.45', {l: '1'})).toMatchObject({
      Name: 'p_n',
      Driver: 'bridge',
      CheckDuplicate: true,
      Labels: {l: '1'},
      IPAM: {Driver: 'default', Config: [{Subnet: '172.28.0.0/16', Gateway: '172.28.5.254', IPRange: '172.28.5.0/24', AuxiliaryAddresses: {host1: '172.28.1.5'}}], Options: {foo: 'bar'}},
    })
    expect(networkSpec(withNetwork({name: 'p_n', ipam: {}}), 'n', 'p_n', '1.45', {})).not.toHaveProperty('IPAM')
  })

  it('refuses enable_ipv4: false before engine API 1.47, naming where it was written', () => {
    const loaded = withNetwork({name: 'p_n', enable_ipv4: false, enable_ipv6: true})
    let error: unknown
    try {
      networkSpec(loaded, 'n', 'p_n', '1.45', {})
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(TtaError)
    expect((error as TtaError).message).toBe(
      '/ws/compose/a.yml:7:5: networks.n.enable_ipv4: an IPv6-only network needs engine API 1.47 (Docker 28); this engine has 1.45 and would give p_n IPv4 anyway',
    )
    expect(networkSpec(loaded, 'n', 'p_n', '1.47', {})).toMatchObject({EnableIPv4: false, EnableIPv6: true})
    // true is what every engine does anyway: only API 1.47+ gets the field.
    expect(networkSpec(withNetwork({name: 'p_n', enable_ipv4: true}), 'n', 'p_n', '1.45', {})).not.toHaveProperty('EnableIPv4')
  })
})

describe('builds', () => {
  const base = svc('base', {image: undefined, build: {context: '/ws/base'}})
  const app = svc('app', {
    image: undefined,
    build: {
      context: '/ws/app',
      shm_size: '2147483648',
      ulimits: {nproc: 65535, nofile: {soft: 20000, hard: 40000}},
      additional_contexts: {src: '/ws/src', base: 'service:base', img: 'docker-image://alpine:3'},
      privileged: true,
      entitlements: ['network.host', 'security.insecure'],
      secrets: [{source: 'token'}, {source: 'key', target: 'build_key'}],
    },
  })
  const project = {
    ...projectOf([app, base]),
    secrets: {token: {name: 'p_token', file: '/ws/token.txt'}, key: {name: 'p_key', environment: 'KEY'}, ext: {name: 'ext', external: true}},
  }

  it('turns the BuildKit keys into docker build flags', () => {
    const args = buildArgs('p', app, {secrets: project.secrets, services: project.services})
    const flags = (flag: string): string[] => args.flatMap((a, i) => (a === flag ? [args[i + 1] as string] : []))
    expect(flags('--shm-size')).toEqual(['2147483648'])
    expect(flags('--ulimit')).toEqual(['nproc=65535:65535', 'nofile=20000:40000'])
    expect(flags('--build-context')).toEqual(['src=/ws/src', 'base=docker-image://p-base', 'img=docker-image://alpine:3'])
    // privileged is the security.insecure entitlement; each asked for once.
    expect(flags('--allow')).toEqual(['security.insecure', 'network.host'])
    expect(flags('--secret')).toEqual(['id=token,src=/ws/token.txt', 'id=build_key,env=KEY'])
    expect(args.at(-1)).toBe('/ws/app')
    expect(buildkitOnly(app.build as NonNullable<typeof app.build>)).toEqual(['build.secrets', 'build.additional_contexts', 'build.privileged', 'build.entitlements'])
  })

  it('refuses a build secret that is neither a file nor an environment variable, as Compose does', () => {
    const external = svc('x', {image: undefined, build: {context: '/ws', secrets: [{source: 'ext'}]}})
    expect(() => buildArgs('p', external, {secrets: project.secrets})).toThrow('service x: build secret "ext" must be a file or environment secret')
  })

  it('builds a service a build context names before the build that uses it', () => {
    expect(withBuildContexts(project, ['app'])).toEqual(['base', 'app'])
    expect(withBuildContexts(project, ['base', 'app'])).toEqual(['base', 'app'])
  })
})

describe('settings tta dev ignores', () => {
  it('names template_driver and credential_spec, for a --verbose note', () => {
    const a = svc('a', {secrets: [{source: 's'}], configs: [{source: 'c'}], credential_spec: {config: 'x'}})
    const project = {...projectOf([a]), secrets: {s: {name: 's', external: true, template_driver: 'golang'}}, configs: {c: {name: 'c', file: '/c'}}}
    expect(ignoredSettings(project, a)).toEqual(['secrets.s.template_driver (golang: swarm templating, applied by tta deploy to a swarm only)', 'credential_spec (Windows containers only)'])
  })

  it("passes template_driver to a swarm deploy as the config's Templating", () => {
    const a = svc('a', {configs: [{source: 'c', target: '/etc/c'}]})
    const loaded = loadedOf({...projectOf([a]), configs: {c: {name: 'c', content: 'hello {{.Service.Name}}', template_driver: 'golang'}}})
    expect(swarmFiles(loaded, 'tta', () => Buffer.alloc(0), {})).toEqual([expect.objectContaining({kind: 'config', key: 'c', templateDriver: 'golang'})])
  })
})
