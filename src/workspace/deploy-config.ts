import {existsSync} from 'node:fs'
import {isAbsolute, resolve} from 'node:path'
import {isMap, isScalar, isSeq, type Node, type Pair} from 'yaml'

import {InputError, type SourcePosition} from '../errors.js'
import type {SourceDocument} from './yaml-source.js'
import {expandHome} from '../docker/ssh/settings.js'
import {isValidProjectName} from '../compose/project-name.js'

export const DEPLOY_TYPES = ['compose', 'swarm'] as const
export type DeployType = (typeof DEPLOY_TYPES)[number]

/** One `deploy:` target of tta.config.yaml, validated. */
export interface DeployTarget {
  name: string
  type: DeployType
  /** DOCKER_HOST of the target engine (unix://, tcp://, ssh://); unset: the current engine. */
  host?: string
  /** ssh:// hosts: the private key to offer first (absolute). */
  identityFile?: string
  /** Where built images are pushed: `host[:port][/path]`, no scheme. */
  registry?: string
  /** Compose files (absolute); unset: the bundled core file plus the bundled overlay named like the target. */
  files?: string[]
  projectName?: string
  /** Ask before deploying (or require -y). Default: true for a target named production. */
  confirm: boolean
  /** Back up the target's datastores before rolling out. */
  backupFirst: boolean
  /** Swarm only: replicas per service (overrides the compose file's deploy.replicas). */
  replicas: Record<string, number>
  /** Seconds to wait for every service to be healthy. */
  timeout: number
  /** Swarm only: publish every port this way instead of as each port says. */
  publishMode?: 'ingress' | 'host'
  /**
   * Swarm only: publish ports the compose files bind to an address (127.0.0.1) on every interface
   * anyway (swarm cannot bind one): true for all services, or a list of services. Default: refuse.
   */
  exposePorts?: true | string[]
  /** Where the target was declared, for errors found later (an unknown service in replicas). */
  position: SourcePosition
  replicasPositions: Record<string, SourcePosition>
}

const TARGET_KEYS = ['type', 'host', 'identityFile', 'registry', 'files', 'projectName', 'confirm', 'backupFirst', 'replicas', 'timeout', 'publishMode', 'exposePorts'] as const
const TARGET_NAME = /^[a-z0-9][a-z0-9_-]*$/
const HOST_SCHEMES = ['unix:', 'tcp:', 'ssh:', 'npipe:', 'http:', 'https:']
/** A registry as Docker spells it in an image name: host[:port] and an optional path, lowercase. */
const REGISTRY = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::\d{1,5})?(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/
export const DEFAULT_DEPLOY_TIMEOUT_S = 300

/** Parses the `deploy:` mapping (target name -> settings), collecting every problem with its position. */
export function parseDeployTargets(src: SourceDocument, node: Node | null | undefined, dir: string, errors: InputError[]): Record<string, DeployTarget> {
  const targets: Record<string, DeployTarget> = {}
  if (!isMap(node)) {
    errors.push(new InputError('must be a mapping of target name to settings (type, host, registry, ...)', src.position(node), 'deploy'))
    return targets
  }
  for (const pair of node.items as Pair<Node, Node>[]) {
    const name = isScalar(pair.key) ? String(pair.key.value) : ''
    const keyPath = `deploy.${name}`
    if (!TARGET_NAME.test(name)) {
      errors.push(new InputError('target names are lowercase letters, digits, "-" or "_"', src.position(pair.key), keyPath))
      continue
    }
    const target = parseTarget(src, pair, name, dir, errors)
    if (target) targets[name] = target
  }
  return targets
}

function parseTarget(src: SourceDocument, pair: Pair<Node, Node>, name: string, dir: string, errors: InputError[]): DeployTarget | undefined {
  const keyPath = `deploy.${name}`
  if (!isMap(pair.value)) {
    errors.push(new InputError('must be a mapping with at least `type: compose` or `type: swarm`', src.position(pair.value ?? pair.key), keyPath))
    return undefined
  }
  const target: DeployTarget = {
    name,
    type: 'compose',
    confirm: name === 'production' || name === 'prod',
    backupFirst: false,
    replicas: {},
    timeout: DEFAULT_DEPLOY_TIMEOUT_S,
    position: src.position(pair.key),
    replicasPositions: {},
  }
  let typeSeen = false
  let replicasNode: Node | undefined
  let publishNode: Node | undefined
  let identityNode: Node | undefined
  let exposeNode: Node | undefined
  for (const item of pair.value.items as Pair<Node, Node>[]) {
    const key = isScalar(item.key) ? String(item.key.value) : ''
    const path = `${keyPath}.${key}`
    const value = item.value
    const at = src.position(value ?? item.key)
    switch (key) {
      case 'type': {
        const type = str(src, value, path, errors)
        if (type === undefined) break
        if ((DEPLOY_TYPES as readonly string[]).includes(type)) {
          target.type = type as DeployType
          typeSeen = true
        } else errors.push(new InputError(`must be one of ${DEPLOY_TYPES.join(', ')} (got "${type}")`, at, path))
        break
      }
      case 'host': {
        const host = str(src, value, path, errors)
        if (host === undefined) break
        let scheme = ''
        try {
          scheme = new URL(host).protocol
        } catch {
          scheme = ''
        }
        if (HOST_SCHEMES.includes(scheme)) target.host = host
        else errors.push(new InputError(`must be a Docker host URL such as ssh://user@host, tcp://host:2376 or unix:///var/run/docker.sock (got "${host}")`, at, path))
        break
      }
      case 'identityFile': {
        identityNode = item.key
        const file = str(src, value, path, errors)
        if (file === undefined) break
        const abs = resolve(dir, expandHome(file))
        if (existsSync(abs)) target.identityFile = abs
        else errors.push(new InputError(`file not found: ${abs}`, at, path))
        break
      }
      case 'registry': {
        const registry = str(src, value, path, errors)
        if (registry === undefined) break
        if (/^[a-z]+:\/\//i.test(registry)) errors.push(new InputError(`write the registry without a scheme, as in an image name (e.g. ${registry.replace(/^[a-z]+:\/\//i, '')})`, at, path))
        else if (!REGISTRY.test(registry) || (!registry.includes('.') && !registry.includes(':') && !registry.startsWith('localhost'))) {
          errors.push(new InputError(`must be a registry host as in an image name: host[:port][/path], e.g. registry.example.com:5000/tta (got "${registry}")`, at, path))
        } else target.registry = registry.replace(/\/+$/, '')
        break
      }
      case 'files': {
        if (!isSeq(value) || value.items.length === 0) {
          errors.push(new InputError('must be a non-empty list of compose file paths (relative to the workspace)', at, path))
          break
        }
        const files: string[] = []
        value.items.forEach((entry, i) => {
          const file = str(src, entry as Node, `${path}[${i}]`, errors)
          if (file === undefined) return
          const abs = isAbsolute(file) ? file : resolve(dir, file)
          if (existsSync(abs)) files.push(abs)
          else errors.push(new InputError(`file not found: ${abs}`, src.position(entry as Node), `${path}[${i}]`))
        })
        target.files = files
        break
      }
      case 'projectName': {
        const project = str(src, value, path, errors)
        if (project === undefined) break
        if (isValidProjectName(project)) target.projectName = project
        else errors.push(new InputError('must be lowercase letters, digits, "-" or "_", starting with a letter or digit', at, path))
        break
      }
      case 'confirm':
      case 'backupFirst': {
        if (isScalar(value) && typeof value.value === 'boolean') target[key] = value.value
        else errors.push(new InputError('must be true or false', at, path))
        break
      }
      case 'timeout': {
        if (isScalar(value) && typeof value.value === 'number' && Number.isInteger(value.value) && value.value > 0) target.timeout = value.value
        else errors.push(new InputError('must be a whole number of seconds greater than 0', at, path))
        break
      }
      case 'replicas': {
        replicasNode = item.key
        if (!isMap(value)) {
          errors.push(new InputError('must be a mapping of service name to a number of replicas', at, path))
          break
        }
        for (const entry of value.items as Pair<Node, Node>[]) {
          const service = isScalar(entry.key) ? String(entry.key.value) : ''
          const count = entry.value
          if (isScalar(count) && typeof count.value === 'number' && Number.isInteger(count.value) && count.value >= 0) {
            target.replicas[service] = count.value
            target.replicasPositions[service] = src.position(entry.key)
          } else errors.push(new InputError('must be a whole number of replicas (0 or more)', src.position(count ?? entry.key), `${path}.${service}`))
        }
        break
      }
      case 'publishMode': {
        publishNode = item.key
        const mode = str(src, value, path, errors)
        if (mode === 'ingress' || mode === 'host') target.publishMode = mode
        else if (mode !== undefined) errors.push(new InputError(`must be ingress or host (got "${mode}")`, at, path))
        break
      }
      case 'exposePorts': {
        exposeNode = item.key
        if (isScalar(value) && typeof value.value === 'boolean') {
          if (value.value) target.exposePorts = true
        } else if (isSeq(value) && value.items.every((entry) => isScalar(entry) && typeof entry.value === 'string' && entry.value !== '')) {
          target.exposePorts = value.items.map((entry) => String((entry as {value: string}).value))
        } else errors.push(new InputError('must be true, false, or a list of service names whose ports swarm may publish on every interface', at, path))
        break
      }
      default:
        errors.push(new InputError(`unknown key "${key}" (supported: ${TARGET_KEYS.join(', ')})`, src.position(item.key), path))
    }
  }
  if (!typeSeen && !errors.some((e) => e.keyPath === `${keyPath}.type`)) {
    errors.push(new InputError('missing `type:` (compose or swarm)', target.position, keyPath))
  }
  if (identityNode && !target.host?.startsWith('ssh:')) {
    errors.push(new InputError('identityFile is for ssh:// hosts (host: ssh://user@host)', src.position(identityNode), `${keyPath}.identityFile`))
  }
  if (target.type === 'compose') {
    if (replicasNode && Object.keys(target.replicas).length > 0) errors.push(new InputError('replicas are for swarm targets; a compose target runs one container per service', src.position(replicasNode), `${keyPath}.replicas`))
    if (publishNode) errors.push(new InputError('publishMode is for swarm targets; a compose target publishes ports as the compose files say', src.position(publishNode), `${keyPath}.publishMode`))
    if (exposeNode) errors.push(new InputError('exposePorts is for swarm targets; a compose target binds ports to the addresses the compose files say', src.position(exposeNode), `${keyPath}.exposePorts`))
  }
  return target
}

function str(src: SourceDocument, node: Node | null | undefined, keyPath: string, errors: InputError[]): string | undefined {
  if (isScalar(node) && (typeof node.value === 'string' || typeof node.value === 'number') && String(node.value) !== '') return String(node.value)
  errors.push(new InputError('must be a non-empty string', src.position(node), keyPath))
  return undefined
}
