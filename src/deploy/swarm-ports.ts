import {isMap, isScalar, isSeq, type Node, type Pair} from 'yaml'

import type {LoadedProject} from '../compose/model.js'
import {InputError, InputErrors, type SourcePosition} from '../errors.js'
import type {DeployTarget} from '../workspace/deploy-config.js'
import {readSourceDocument} from '../workspace/yaml-source.js'

const WILDCARD = new Set(['', '0.0.0.0', '::', '[::]'])

/** Whether the target's `exposePorts` lets this service publish on every interface. */
function exposed(target: DeployTarget, service: string): boolean {
  return target.exposePorts === true || (Array.isArray(target.exposePorts) && target.exposePorts.includes(service))
}

/** Where a service's port with this container port is written: the last compose file that has it. */
export function portPosition(files: readonly string[], service: string, containerPort: number): SourcePosition | undefined {
  let fallback: SourcePosition | undefined
  for (const file of [...files].reverse()) {
    let doc
    try {
      doc = readSourceDocument(file)
    } catch {
      continue
    }
    const services = doc.doc.contents
    const svc = isMap(services) ? (services.items as Pair<Node, Node>[]).find((p) => isScalar(p.key) && p.key.value === 'services')?.value : undefined
    const entry = isMap(svc) ? (svc.items as Pair<Node, Node>[]).find((p) => isScalar(p.key) && p.key.value === service)?.value : undefined
    const portsPair = isMap(entry) ? (entry.items as Pair<Node, Node>[]).find((p) => isScalar(p.key) && p.key.value === 'ports') : undefined
    if (!portsPair || !isSeq(portsPair.value)) continue
    fallback ??= doc.position(portsPair.key)
    for (const item of portsPair.value.items as Node[]) {
      if (isScalar(item)) {
        // Short syntax: [ip:][published:]target[/protocol]; the target is the last part.
        const text = String(item.value)
        const last = text.split('/')[0]?.split(':').pop()
        if (last === String(containerPort)) return doc.position(item)
      } else if (isMap(item)) {
        const target = (item.items as Pair<Node, Node>[]).find((p) => isScalar(p.key) && p.key.value === 'target')?.value
        if (isScalar(target) && String(target.value) === String(containerPort)) return doc.position(item)
      }
    }
  }
  return fallback
}

/**
 * Swarm cannot bind a published port to an address: ingress and mode=host publishing alike open it
 * on every interface of every node. A port the compose files bind to an address (127.0.0.1 above
 * all: "this machine only") is refused, naming where it is written, unless the target's
 * `exposePorts` says to publish it everywhere.
 */
export function refuseBoundSwarmPorts(loaded: LoadedProject, target: DeployTarget): void {
  const errors: InputError[] = []
  for (const service of Object.values(loaded.project.services).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    ;(service.ports ?? []).forEach((port, i) => {
      if (port.host_ip === undefined || WILDCARD.has(port.host_ip) || exposed(target, service.name)) return
      const loopback = port.host_ip === 'localhost' || port.host_ip.startsWith('127.') || port.host_ip === '::1' || port.host_ip === '[::1]'
      const published = port.published ?? '(any)'
      errors.push(
        new InputError(
          `${port.host_ip}:${published}:${port.target} cannot be honoured by swarm target ${target.name}: swarm publishes on every interface of every node (ingress and mode=host alike cannot bind an address)${loopback ? `, so a port meant for this machine only would be open to the network` : ''}`,
          portPosition(loaded.configFiles, service.name, port.target),
          `services.${service.name}.ports[${i}]`,
          `drop the port in the target's compose files (ports: !reset []), or set deploy.${target.name}.exposePorts: true (or a list of services) in tta.config.yaml to publish it on every interface`,
        ),
      )
    })
  }
  if (errors.length === 1) throw errors[0] as InputError
  if (errors.length > 1) throw new InputErrors(errors, errors[0]?.hint)
}
