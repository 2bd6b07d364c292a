/** The schema of one service: every key tta supports, and the ones Compose knows that it refuses. */
import type {Schema} from '../schema.js'
import {bool, command, int, listOrDict, num, scalarDict, str, strList, strOrList} from './atoms.js'

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
    // Windows containers only: accepted and printed, ignored with a warning (normalize/service.ts).
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
