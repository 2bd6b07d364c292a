import type {EnginePort} from '../docker/port.js'

import {Label, projectFilter} from './labels.js'

export interface ObservedContainer {
  id: string
  name: string
  service: string
  number: number
  /** created | running | paused | restarting | removing | exited | dead */
  state: string
  status: string
  configHash?: string
  imageId: string
  image: string
  managedByTta: boolean
  labels: Record<string, string>
}

export interface Observed {
  containers: ObservedContainer[]
  networks: Map<string, {id: string; labels: Record<string, string>}>
  volumes: Map<string, {labels: Record<string, string>}>
}

/** Everything of one compose project the engine has, found by Compose's project label. */
export async function observeContainers(engine: Pick<EnginePort, 'containers'>, project: string): Promise<ObservedContainer[]> {
  const list = await engine.containers.list({all: true, filters: projectFilter(project, [`${Label.oneoff}=False`])})
  return list
    .map((c) => ({
      id: c.Id,
      name: (c.Names[0] ?? '').replace(/^\//, ''),
      service: c.Labels[Label.service] ?? '',
      number: Number(c.Labels[Label.containerNumber] ?? 1),
      state: c.State,
      status: c.Status,
      configHash: c.Labels[Label.configHash],
      imageId: c.ImageID,
      image: c.Image,
      managedByTta: c.Labels[Label.managedBy] === 'tta',
      labels: c.Labels,
    }))
    .sort((a, b) => (a.service < b.service ? -1 : a.service > b.service ? 1 : a.number - b.number))
}

/** Networks and volumes are looked up by their Docker name: external or pre-existing ones count too. */
export async function observe(engine: Pick<EnginePort, 'containers' | 'networks' | 'volumes'>, project: string): Promise<Observed> {
  const [containers, networks, volumes] = await Promise.all([
    observeContainers(engine, project),
    engine.networks.list(),
    engine.volumes.list(),
  ])
  return {
    containers,
    networks: new Map(networks.map((n) => [n.Name, {id: n.Id, labels: n.Labels ?? {}}])),
    volumes: new Map(volumes.map((v) => [v.Name, {labels: (v.Labels as Record<string, string> | null) ?? {}}])),
  }
}
