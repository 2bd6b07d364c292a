/** The schema of a whole compose file: the top-level keys and the networks, volumes, secrets and configs under them. */
import type {Schema} from '../schema.js'
import {bool, legacyExternal, listOrDict, scalarDict, str, strOrList} from './atoms.js'
import {serviceSchema} from './service.js'

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
