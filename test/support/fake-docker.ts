// An in-memory stand-in for the part of dockerode the engine services use (containers, exec, logs,
// images, networks, volumes, events), for unit tests of their failure and rollback branches. It
// keeps state the way the engine does (labels, running/exited, restart counts) and records every
// write, so a test asserts what was created, started and removed. Behaviour per container comes
// from `behave`: what its process does when started and what its healthcheck exec answers.
import {PassThrough} from 'node:stream'
import type Dockerode from 'dockerode'

export interface FakeBehaviour {
  /** On start: keep running (default), or exit with this code after `afterMs`. */
  exitCode?: number
  afterMs?: number
  /** Exit code of any exec (the healthcheck); a function sees how many execs ran before. */
  exec?: number | ((n: number) => number)
  /** Engine-side health verdict reported by inspect, once set. */
  health?: 'healthy' | 'unhealthy' | 'starting'
  /** start() fails with this message (e.g. a port already allocated). */
  startError?: string
  logs?: string[]
}

interface FakeContainer {
  id: string
  name: string
  labels: Record<string, string>
  image: string
  status: 'created' | 'running' | 'exited'
  exitCode: number
  startedAt: string
  restartCount: number
  execs: number
  healthcheck?: {Test?: string[]}
}

export class FakeDocker {
  readonly containers = new Map<string, FakeContainer>()
  readonly networks = new Map<string, {id: string; name: string; labels: Record<string, string>; containers: Set<string>}>()
  readonly volumes = new Map<string, {name: string; labels: Record<string, string>}>()
  readonly images = new Map<string, {id: string; healthcheck?: {Test?: string[]; Timeout?: number}}>()
  /** Every write, in order: "create redis", "start redis", "remove redis", "network create p_default", ... */
  readonly log: string[] = []
  private next = 1
  private readonly eventStreams = new Set<PassThrough>()

  constructor(readonly behave: (service: string) => FakeBehaviour = () => ({})) {}

  /** The dockerode-shaped object to pass where a Dockerode is expected. */
  get docker(): Dockerode {
    return this as unknown as Dockerode
  }

  private serviceOf(c: FakeContainer): string {
    return c.labels['com.docker.compose.service'] ?? c.name
  }

  private emit(c: FakeContainer, action: string, attributes: Record<string, string> = {}): void {
    const line = JSON.stringify({Type: 'container', Action: action, Actor: {ID: c.id, Attributes: {...c.labels, ...attributes}}}) + '\n'
    for (const stream of this.eventStreams) stream.write(line)
  }

  private matches(labels: Record<string, string>, filters?: {label?: string[]}): boolean {
    return (filters?.label ?? []).every((f) => {
      const [key, value] = f.split('=') as [string, string | undefined]
      return value === undefined ? key in labels : labels[key] === value
    })
  }

  async listContainers(options: {all?: boolean; filters?: {label?: string[]}} = {}): Promise<Dockerode.ContainerInfo[]> {
    return [...this.containers.values()]
      .filter((c) => (options.all || c.status === 'running') && this.matches(c.labels, options.filters))
      .map((c) => ({Id: c.id, Names: [`/${c.name}`], Image: c.image, ImageID: this.images.get(c.image)?.id ?? '', Labels: c.labels, State: c.status, Status: c.status === 'running' ? 'Up 1 second' : `Exited (${c.exitCode})`}) as unknown as Dockerode.ContainerInfo)
  }

  async listNetworks(): Promise<Array<{Name: string; Id: string; Labels: Record<string, string>}>> {
    return [...this.networks.values()].map((n) => ({Name: n.name, Id: n.id, Labels: n.labels}))
  }

  async listVolumes(): Promise<{Volumes: Array<{Name: string; Labels: Record<string, string>}>}> {
    return {Volumes: [...this.volumes.values()].map((v) => ({Name: v.name, Labels: v.labels}))}
  }

  async createNetwork(options: {Name: string; Labels?: Record<string, string>}): Promise<unknown> {
    this.log.push(`network create ${options.Name}`)
    this.networks.set(options.Name, {id: `net${this.next++}`, name: options.Name, labels: options.Labels ?? {}, containers: new Set()})
    return {}
  }

  async createVolume(options: {Name: string; Labels?: Record<string, string>}): Promise<unknown> {
    this.log.push(`volume create ${options.Name}`)
    this.volumes.set(options.Name, {name: options.Name, labels: options.Labels ?? {}})
    return {}
  }

  getNetwork(name: string): {inspect: () => Promise<unknown>; connect: (o: {Container: string}) => Promise<void>} {
    return {
      inspect: async () => ({Containers: Object.fromEntries([...(this.networks.get(name)?.containers ?? [])].map((id) => [id, {}]))}),
      connect: async (o) => {
        this.networks.get(name)?.containers.add(o.Container)
      },
    }
  }

  getImage(name: string): {inspect: () => Promise<unknown>} {
    return {
      inspect: async () => {
        const image = this.images.get(name)
        if (!image) throw Object.assign(new Error(`No such image: ${name}`), {statusCode: 404})
        return {Id: image.id, Config: {Healthcheck: image.healthcheck}}
      },
    }
  }

  async pull(name: string): Promise<never> {
    throw Object.assign(new Error(`pull access denied for ${name}: no registry here`), {statusCode: 404})
  }

  async getEvents(): Promise<PassThrough> {
    const stream = new PassThrough()
    this.eventStreams.add(stream)
    stream.on('close', () => this.eventStreams.delete(stream))
    return stream
  }

  async createContainer(spec: {name?: string; Image: string; Labels?: Record<string, string>; Healthcheck?: {Test?: string[]}}): Promise<ReturnType<FakeDocker['getContainer']>> {
    const id = `c${String(this.next++).padStart(3, '0')}${'0'.repeat(60)}`
    const c: FakeContainer = {id, name: spec.name ?? id, labels: spec.Labels ?? {}, image: spec.Image, status: 'created', exitCode: 0, startedAt: '0001-01-01T00:00:00Z', restartCount: 0, execs: 0, healthcheck: spec.Healthcheck}
    this.containers.set(id, c)
    this.log.push(`create ${this.serviceOf(c)}`)
    return this.getContainer(id)
  }

  getContainer(id: string) {
    const get = (): FakeContainer => {
      const c = this.containers.get(id)
      if (!c) throw Object.assign(new Error(`No such container: ${id}`), {statusCode: 404})
      return c
    }
    return {
      id,
      start: async (): Promise<void> => {
        const c = get()
        const b = this.behave(this.serviceOf(c))
        if (b.startError) throw Object.assign(new Error(b.startError), {statusCode: 500})
        this.log.push(`start ${this.serviceOf(c)}`)
        c.status = 'running'
        c.startedAt = new Date().toISOString()
        this.emit(c, 'start')
        if (b.exitCode !== undefined) {
          setTimeout(() => {
            if (c.status !== 'running') return
            c.status = 'exited'
            c.exitCode = b.exitCode as number
            this.emit(c, 'die', {exitCode: String(c.exitCode)})
          }, b.afterMs ?? 0)
        } else if (b.health === 'healthy') {
          setTimeout(() => this.emit(c, 'health_status: healthy'), 5)
        }
      },
      stop: async (): Promise<void> => {
        const c = get()
        this.log.push(`stop ${this.serviceOf(c)}`)
        c.status = 'exited'
      },
      remove: async (): Promise<void> => {
        const c = get()
        this.log.push(`remove ${this.serviceOf(c)}`)
        this.containers.delete(id)
      },
      inspect: async (): Promise<unknown> => {
        const c = get()
        const b = this.behave(this.serviceOf(c))
        return {
          Id: c.id,
          Name: `/${c.name}`,
          RestartCount: c.restartCount,
          Config: {Labels: c.labels, Tty: false, Healthcheck: c.healthcheck},
          State: {Status: c.status, Running: c.status === 'running', ExitCode: c.exitCode, StartedAt: c.startedAt, ...(b.health && c.status === 'running' ? {Health: {Status: b.health}} : {})},
          NetworkSettings: {Networks: {}},
        }
      },
      exec: async (): Promise<unknown> => {
        const c = get()
        if (c.status !== 'running') throw Object.assign(new Error('container is not running'), {statusCode: 409})
        const b = this.behave(this.serviceOf(c))
        const n = c.execs++
        const code = typeof b.exec === 'function' ? b.exec(n) : (b.exec ?? 0)
        return {
          start: async () => {
            const stream = new PassThrough()
            stream.end()
            return stream
          },
          inspect: async () => ({ExitCode: code, Running: false}),
        }
      },
      logs: async (): Promise<Buffer> => {
        const c = get()
        const lines = this.behave(this.serviceOf(c)).logs ?? []
        // Docker's multiplexed frames: stdout, 3 zero bytes, length, payload.
        return Buffer.concat(
          lines.map((line) => {
            const payload = Buffer.from(`${line}\n`)
            const header = Buffer.alloc(8)
            header[0] = 1
            header.writeUInt32BE(payload.length, 4)
            return Buffer.concat([header, payload])
          }),
        )
      },
    }
  }
}
