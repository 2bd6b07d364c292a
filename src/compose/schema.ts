/**
 * The subset of the Compose Specification tta supports, as a small schema checked against each
 * file after interpolation: unknown keys, keys Compose knows but tta does not support, and wrong
 * types are all reported with the position of the offending node.
 */
import {InputError} from '../errors.js'
import {describeKind, type PNode} from './tree.js'

export type Schema =
  | 'string'
  | 'int'
  | 'number'
  | 'bool'
  | 'scalar'
  | 'any'
  | {map: Record<string, Schema>; unsupported?: string[]}
  | {dict: Schema}
  | {list: Schema}
  | {oneOf: Schema[]}
  | {nullable: Schema}

const str: Schema = 'string'
const int: Schema = 'int'
const bool: Schema = 'bool'
const num: Schema = 'number'
const strList: Schema = {list: str}
const strOrList: Schema = {oneOf: [str, strList]}
const scalarDict: Schema = {dict: {nullable: 'scalar'}}
/** `KEY=value` list or `KEY: value` mapping (environment, labels, args, sysctls). */
const listOrDict: Schema = {oneOf: [{list: 'scalar'}, scalarDict]}
const command: Schema = {nullable: {oneOf: [str, strList]}}

/** `external: true`, or the deprecated `external: {name: x}` (networks, volumes, secrets). */
const legacyExternal: Schema = {oneOf: [bool, {map: {name: str}}]}

/** A device request (deploy reservations, gpus): HostConfig.DeviceRequests. */
const deviceRequest: Schema = {
  map: {capabilities: strList, count: {oneOf: [int, str]}, device_ids: strList, driver: str, options: listOrDict},
}
const ulimitsSchema: Schema = {dict: {oneOf: [int, {map: {soft: int, hard: int}}]}}
const resource: Schema = {
  map: {cpus: {oneOf: [num, str]}, memory: {oneOf: [str, int]}, pids: int, devices: {list: deviceRequest}},
  // Swarm-only: a node's generic resources are nothing a single engine can reserve.
  unsupported: ['generic_resources'],
}
const updateConfig: Schema = {
  map: {
    parallelism: int,
    delay: str,
    failure_action: str,
    monitor: str,
    max_failure_ratio: num,
    order: str,
  },
}

const blkioLimit: Schema = {map: {path: str, rate: {oneOf: [int, str]}}}

const fileRef: Schema = {
  oneOf: [str, {map: {source: str, target: str, uid: str, gid: str, mode: {oneOf: [int, str]}}}]
}

const build: Schema = {
  oneOf: [
    str,
    {
      map: {
        context: str,
        dockerfile: str,
        dockerfile_inline: str,
        args: listOrDict,
        target: str,
        labels: listOrDict,
        network: str,
        cache_from: strList,
        pull: bool,
        no_cache: bool,
        platforms: strList,
        ssh: listOrDict,
        tags: strList,
        // docker build --shm-size, --ulimit, --build-context, --allow, --secret (src/engine/images.ts).
        shm_size: {oneOf: [str, int]},
        ulimits: ulimitsSchema,
        additional_contexts: listOrDict,
        privileged: bool,
        entitlements: strList,
        secrets: {list: fileRef},
      },
      unsupported: ['extra_hosts', 'isolation', 'cache_to'],
    },
  ],
}

export const SERVICE_KEYS_UNSUPPORTED = [
  'label_file',
  'log_driver',
  'log_opt',
  'models',
  'net',
  'post_start',
  'pre_stop',
  'provider',
  'use_api_socket',
  'volume_driver',
]

export const serviceSchema: Schema = {
  map: {
    image: str,
    build,
    command,
    entrypoint: command,
    environment: listOrDict,
    env_file: {
      oneOf: [str, {list: {oneOf: [str, {map: {path: str, required: bool, format: str}}]}}],
    },
    labels: listOrDict,
    ports: {
      list: {
        oneOf: [
          str,
          int,
          {
            map: {
              target: int,
              published: {oneOf: [str, int]},
              host_ip: str,
              protocol: str,
              mode: str,
              name: str,
              app_protocol: str,
            },
          },
        ],
      },
    },
    expose: {list: {oneOf: [str, int]}},
    volumes: {
      list: {
        oneOf: [
          str,
          {
            map: {
              type: str,
              source: str,
              target: str,
              read_only: bool,
              consistency: str,
              bind: {map: {propagation: str, create_host_path: bool, selinux: str}},
              volume: {map: {nocopy: bool, subpath: str}},
              tmpfs: {map: {size: {oneOf: [int, str]}, mode: {oneOf: [int, str]}}},
            },
          },
        ],
      },
    },
    tmpfs: strOrList,
    depends_on: {
      oneOf: [
        strList,
        {dict: {nullable: {map: {condition: str, required: bool, restart: bool}}}},
      ],
    },
    healthcheck: {
      map: {
        test: {oneOf: [str, strList]},
        interval: str,
        timeout: str,
        retries: int,
        start_period: str,
        start_interval: str,
        disable: bool,
      },
    },
    networks: {
      oneOf: [
        strList,
        {
          dict: {
            nullable: {
              map: {aliases: strList, ipv4_address: str, ipv6_address: str, priority: int, link_local_ips: strList, driver_opts: scalarDict},
              unsupported: ['mac_address', 'gw_priority', 'interface_name'],
            },
          },
        },
      ],
    },
    network_mode: str,
    restart: str,
    working_dir: str,
    user: str,
    hostname: str,
    domainname: str,
    container_name: str,
    profiles: strList,
    deploy: {
      nullable: {
        map: {
          mode: str,
          replicas: int,
          labels: listOrDict,
          resources: {map: {limits: resource, reservations: resource}},
          restart_policy: {map: {condition: str, delay: str, max_attempts: int, window: str}},
          update_config: updateConfig,
          rollback_config: updateConfig,
          placement: {
            map: {
              constraints: strList,
              preferences: {list: {map: {spread: str}}},
              max_replicas_per_node: int,
            },
          },
          endpoint_mode: str,
        },
      },
    },
    stop_grace_period: str,
    stop_signal: str,
    tty: bool,
    stdin_open: bool,
    init: bool,
    privileged: bool,
    read_only: bool,
    extra_hosts: {oneOf: [strList, {dict: {oneOf: [str, strList]}}]},
    cap_add: strList,
    cap_drop: strList,
    security_opt: strList,
    dns: strOrList,
    logging: {map: {driver: str, options: {nullable: scalarDict}}},
    ulimits: ulimitsSchema,
    sysctls: listOrDict,
    shm_size: {oneOf: [str, int]},
    mem_limit: {oneOf: [str, int]},
    cpus: {oneOf: [num, str]},
    pid: str,
    ipc: str,
    platform: str,
    pull_policy: str,
    secrets: {list: fileRef},
    configs: {list: fileRef},
    scale: int,
    extends: {oneOf: [str, {map: {service: str, file: str}}]},
    // Passed to the engine as HostConfig fields (see src/engine/spec.ts).
    annotations: listOrDict,
    attach: bool,
    cgroup: str,
    cgroup_parent: str,
    cpu_count: int,
    cpu_percent: int,
    cpu_period: int,
    cpu_quota: int,
    cpu_rt_period: int,
    cpu_rt_runtime: int,
    cpu_shares: int,
    cpuset: str,
    device_cgroup_rules: strList,
    devices: {list: {oneOf: [str, {map: {source: str, target: str, permissions: str}}]}},
    dns_opt: strList,
    dns_search: strOrList,
    external_links: strList,
    group_add: {list: {oneOf: [str, int]}},
    isolation: str,
    links: strList,
    mac_address: str,
    mem_reservation: {oneOf: [str, int]},
    mem_swappiness: int,
    memswap_limit: {oneOf: [str, int]},
    oom_kill_disable: bool,
    oom_score_adj: int,
    pids_limit: int,
    runtime: str,
    storage_opt: scalarDict,
    userns_mode: str,
    uts: str,
    volumes_from: strList,
    blkio_config: {
      map: {
        weight: {oneOf: [int, str]},
        weight_device: {list: {map: {path: str, weight: {oneOf: [int, str]}}}},
        device_read_bps: {list: blkioLimit},
        device_read_iops: {list: blkioLimit},
        device_write_bps: {list: blkioLimit},
        device_write_iops: {list: blkioLimit},
      },
    },
    gpus: {oneOf: [str, {list: deviceRequest}]},
    // Windows containers only: accepted and printed, ignored with a warning (normalize.ts).
    credential_spec: {map: {config: str, file: str, registry: str}},
    develop: {
      nullable: {
        map: {
          watch: {
            list: {
              map: {
                path: str,
                action: str,
                target: str,
                ignore: strList,
                include: strList,
                initial_sync: bool,
                exec: {
                  map: {command, user: str, privileged: bool, working_dir: str, environment: listOrDict},
                },
              },
            },
          },
        },
      },
    },
  },
  unsupported: SERVICE_KEYS_UNSUPPORTED,
}

const networkSchema: Schema = {
  nullable: {
    map: {
      name: str,
      driver: str,
      driver_opts: scalarDict,
      ipam: {
        map: {
          driver: str,
          config: {list: {map: {subnet: str, gateway: str, ip_range: str, aux_addresses: scalarDict}}},
          options: scalarDict,
        },
      },
      external: legacyExternal,
      internal: bool,
      attachable: bool,
      enable_ipv4: bool,
      enable_ipv6: bool,
      labels: listOrDict,
    },
  },
}

const volumeSchema: Schema = {
  nullable: {map: {name: str, driver: str, driver_opts: scalarDict, external: legacyExternal, labels: listOrDict}},
}

const fileObjectSchema = (withContent: boolean): Schema => ({
  nullable: {
    map: {
      name: str,
      file: str,
      environment: str,
      ...(withContent ? {content: str} : {}),
      external: legacyExternal,
      labels: listOrDict,
      // Swarm's templating of a secret's or config's content: honoured by tta deploy to a swarm.
      template_driver: str,
    },
    unsupported: ['driver', 'driver_opts'],
  },
})

export const topSchema: Schema = {
  map: {
    version: 'scalar',
    name: str,
    services: {nullable: {dict: serviceSchema}},
    networks: {nullable: {dict: networkSchema}},
    volumes: {nullable: {dict: volumeSchema}},
    secrets: {nullable: {dict: fileObjectSchema(false)}},
    configs: {nullable: {dict: fileObjectSchema(true)}},
    include: {nullable: {list: {oneOf: [str, {map: {path: strOrList, env_file: strOrList, project_directory: str}}]}}},
  },
  unsupported: ['models'],
}

/** Build a dotted key path: `a.b`, `a[0]`. */
export function childPath(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`
  return path === '' ? key : `${path}.${key}`
}

const BOOL_STRINGS = new Set(['true', 'false', 'True', 'False', 'TRUE', 'FALSE'])

/** Does a scalar fit a scalar schema? Interpolated strings may stand for numbers and booleans. */
function scalarFits(s: 'string' | 'int' | 'number' | 'bool' | 'scalar', v: string | number | boolean | null): boolean {
  if (v === null) return false
  switch (s) {
    case 'string':
      return typeof v === 'string' || typeof v === 'number'
    case 'int':
      return (typeof v === 'number' && Number.isInteger(v)) || (typeof v === 'string' && /^-?\d+$/.test(v))
    case 'number':
      return typeof v === 'number' || (typeof v === 'string' && /^-?(\d+\.?\d*|\.\d+)$/.test(v))
    case 'bool':
      return typeof v === 'boolean' || (typeof v === 'string' && BOOL_STRINGS.has(v))
    case 'scalar':
      return true
  }
}

function describeSchema(s: Schema): string {
  if (typeof s === 'string') {
    return {string: 'a string', int: 'an integer', number: 'a number', bool: 'a boolean', scalar: 'a string, number, boolean or null', any: 'anything'}[s]
  }
  if ('map' in s || 'dict' in s) return 'a mapping'
  if ('list' in s) return 'a sequence'
  if ('nullable' in s) return describeSchema(s.nullable)
  const names = [...new Set(s.oneOf.map((o) => describeSchema(o)))]
  return names.length <= 2 ? names.join(' or ') : `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}`
}

function pickOption(options: Schema[], node: PNode): Schema | undefined {
  for (const o of options) {
    const base = typeof o === 'object' && 'nullable' in o ? o.nullable : o
    if (typeof base === 'string') {
      if (node.kind === 'scalar' && (base === 'any' || scalarFits(base, node.value))) return o
    } else if ('map' in base || 'dict' in base) {
      if (node.kind === 'map') return o
    } else if ('list' in base) {
      if (node.kind === 'seq') return o
    } else if ('oneOf' in base && pickOption(base.oneOf, node)) return o
  }
  return undefined
}

function editDistance(a: string, b: string): number {
  const row = Array.from({length: b.length + 1}, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] as number
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j] as number
      row[j] = Math.min((row[j] as number) + 1, (row[j - 1] as number) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1))
      prev = tmp
    }
  }
  return row[b.length] as number
}

function suggestion(key: string, known: string[]): string {
  let best: string | undefined
  let bestD = Infinity
  for (const k of known) {
    const d = editDistance(key, k)
    if (d < bestD) {
      best = k
      bestD = d
    }
  }
  return best !== undefined && bestD <= Math.max(1, Math.floor(key.length / 3)) ? ` (did you mean "${best}"?)` : ''
}

/**
 * Check `node` against `schema`, appending errors. Nodes tagged `!reset` are not checked (their
 * value is discarded). `x-` keys are allowed in every fixed-key mapping.
 */
export function validate(node: PNode, schema: Schema, path: string, errors: InputError[]): void {
  if (node.tag === '!reset') return
  if (typeof schema === 'string') {
    if (schema === 'any') return
    if (node.kind !== 'scalar' || !scalarFits(schema, node.value)) {
      errors.push(new InputError(`expected ${describeSchema(schema)}, got ${describeKind(node)}`, node.pos, path))
    }
    return
  }
  if ('nullable' in schema) {
    if (node.kind === 'scalar' && node.value === null) return
    validate(node, schema.nullable, path, errors)
    return
  }
  if ('oneOf' in schema) {
    const option = pickOption(schema.oneOf, node)
    if (!option) {
      errors.push(new InputError(`expected ${describeSchema(schema)}, got ${describeKind(node)}`, node.pos, path))
      return
    }
    validate(node, option, path, errors)
    return
  }
  if ('list' in schema) {
    if (node.kind !== 'seq') {
      errors.push(new InputError(`expected a sequence, got ${describeKind(node)}`, node.pos, path))
      return
    }
    node.items.forEach((item, i) => validate(item, schema.list, childPath(path, i), errors))
    return
  }
  if (node.kind !== 'map') {
    errors.push(new InputError(`expected a mapping, got ${describeKind(node)}`, node.pos, path))
    return
  }
  if ('dict' in schema) {
    for (const e of node.entries.values()) validate(e.value, schema.dict, childPath(path, e.key), errors)
    return
  }
  const known = Object.keys(schema.map)
  for (const e of node.entries.values()) {
    const p = childPath(path, e.key)
    if (e.key.startsWith('x-')) continue
    const sub = schema.map[e.key]
    if (sub === undefined) {
      if (e.key === 'extends' || e.key === 'include') {
        errors.push(new InputError(`"${e.key}" is not supported by tta; merge the files with -f instead`, e.keyPos, p))
      } else if (schema.unsupported?.includes(e.key)) {
        errors.push(new InputError(`"${e.key}" is not supported by tta`, e.keyPos, p))
      } else {
        errors.push(new InputError(`unknown key "${e.key}"${suggestion(e.key, known)}`, e.keyPos, p))
      }
      continue
    }
    validate(e.value, sub, p, errors)
  }
}
