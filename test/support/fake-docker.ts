// An in-memory stand-in for the part of dockerode the engine services use (containers, exec, logs,
// images, networks, volumes, events, archives, swarm services/tasks/configs/secrets), for unit
// tests of their failure and rollback branches. It keeps state the way the engine does (labels,
// running/exited/paused, the create options a container was made from, a service's previous spec)
// and records every write, so a test asserts what was created, started and removed. Behaviour per
// container comes from `behave`: what its process does when started, what its execs answer.
import {Duplex, PassThrough, Readable} from 'node:stream'
import type Dockerode from 'dockerode'

import type {EnginePort} from '../../src/docker/port.js'
import {fakePort} from './fake-port.js'

/** A process run by an exec or a one-off container: its command, environment and the bytes sent to its stdin. */
export interface FakeRun {
  service: string
  image: string
  cmd: string[]
  env: string[]
  /** A one-off container (attach + start) rather than an exec in a running one. */
  oneoff: boolean
  stdin: Buffer
}

export interface FakeOutput {
  exitCode: number
  stdout?: string | Buffer
  stderr?: string
}

/** An interactive process: answers each chunk of stdin as it comes; `end` is what it prints and exits with once stdin closes. */
export interface FakeSession {
  input(text: string): string
  end?(): FakeOutput | Promise<FakeOutput>
}

export interface FakeBehaviour {
  /** On start: keep running (default), or exit with this code after `afterMs`. */
  exitCode?: number
  afterMs?: number
  /** Exit code of any exec (the healthcheck); a function sees how many execs ran before. */
  exec?: number | ((n: number) => number)
  /** What an exec or a one-off prints and exits with; wins over `exec` when set. */
  run?: (run: FakeRun) => FakeOutput | Promise<FakeOutput>
  /**
   * An interactive exec (stdin kept open, output read as it comes, like a psql session): return a
   * handler to answer each chunk written to stdin; return undefined to run the command with `run`.
   */
  session?: (run: Omit<FakeRun, 'stdin'>) => FakeSession | undefined
  /** Engine-side health verdict reported by inspect, once set. */
  health?: 'healthy' | 'unhealthy' | 'starting'
  /** Swarm: a task of this image stays `starting` this long before it runs (a slow healthcheck). */
  taskStartMs?: number
  /** start() fails with this message (e.g. a port already allocated); a function decides per container id. */
  startError?: string | ((containerId: string) => string | undefined)
  logs?: string[]
}

export interface FakeContainer {
  id: string
  name: string
  labels: Record<string, string>
  image: string
  status: 'created' | 'running' | 'exited' | 'paused'
  exitCode: number
  startedAt: string
  restartCount: number
  execs: number
  healthcheck?: {Test?: string[]}
  /** The create options, as the engine keeps them (inspect's Config, HostConfig, networks). */
  spec: Dockerode.ContainerCreateOptions
}

export interface FakeService {
  ID: string
  Version: {Index: number}
  Spec: Dockerode.ServiceSpec & {Name: string; Labels?: Record<string, string>}
  PreviousSpec?: Dockerode.ServiceSpec
  UpdateStatus?: {State?: string; StartedAt?: string; Message?: string}
}

export interface FakeTask {
  ID: string
  ServiceID: string
  NodeID?: string
  DesiredState: string
  Spec: {ContainerSpec?: Dockerode.ContainerSpec}
  Status: {State: string; Message?: string; Err?: string; Timestamp?: string; ContainerStatus?: {ContainerID?: string; ExitCode?: number}}
}

const statusError = (message: string, statusCode: number): Error => Object.assign(new Error(message), {statusCode})

/** Docker's multiplexed frame: stream type (1 stdout, 2 stderr), 3 zero bytes, length, payload. */
export function frame(type: 1 | 2, payload: Buffer): Buffer {
  const header = Buffer.alloc(8)
  header[0] = type
  header.writeUInt32BE(payload.length, 4)
  return Buffer.concat([header, payload])
}

/** A ustar archive of regular files (what GET /containers/{id}/archive sends). */
export function tarOf(files: Record<string, string>): Buffer {
  const blocks: Buffer[] = []
  for (const [name, content] of Object.entries(files)) {
    const body = Buffer.from(content)
    const header = Buffer.alloc(512)
    header.write(name, 0, 100)
    header.write('0000644\0', 100)
    header.write('0000000\0', 108)
    header.write('0000000\0', 116)
    header.write(body.length.toString(8).padStart(11, '0') + '\0', 124)
    header.write('00000000000\0', 136)
    header.write('        ', 148)
    header.write('0', 156)
    header.write('ustar\0' + '00', 257)
    let sum = 0
    for (const byte of header) sum += byte
    header.write(sum.toString(8).padStart(6, '0') + '\0 ', 148)
    blocks.push(header, body, Buffer.alloc((512 - (body.length % 512)) % 512))
  }
  return Buffer.concat([...blocks, Buffer.alloc(1024)])
}

export class FakeDocker {
  readonly containers = new Map<string, FakeContainer>()
  readonly networks = new Map<string, {id: string; name: string; labels: Record<string, string>; containers: Set<string>}>()
  readonly volumes = new Map<string, {name: string; labels: Record<string, string>}>()
  readonly images = new Map<string, {id: string; healthcheck?: {Test?: string[]; Timeout?: number}; labels?: Record<string, string>}>()
  /** Swarm state: `swarm` says whether this engine is a manager. */
  swarm: {state: 'inactive' | 'active'; manager: boolean; nodes: number} = {state: 'inactive', manager: false, nodes: 1}
  /** The node this engine is (node1), and where a service's tasks are placed (default: here). */
  readonly placement = new Map<string, string>()
  readonly services = new Map<string, FakeService>()
  readonly tasks: FakeTask[] = []
  readonly configs = new Map<string, {ID: string; Spec: {Name: string; Data: string; Labels?: Record<string, string>}}>()
  readonly secrets = new Map<string, {ID: string; Spec: {Name: string; Data: string; Labels?: Record<string, string>}}>()
  /** Files in a container's filesystem by path prefix, as getArchive serves them. */
  readonly archives = new Map<string, Record<string, string>>()
  /** Every write, in order: "create redis", "start redis", "remove redis", "network create p_default", ... */
  readonly log: string[] = []
  private next = 1
  private readonly eventStreams = new Set<PassThrough>()
  /** Swarm's own rollback of a failed update, applied once the update has been seen in progress. */
  private readonly pendingRollbacks = new Map<string, () => void>()
  private readonly taskReadyAt = new Map<string, number>()
  /** A one-off's attached streams by container id: its process runs once started. */
  private readonly attachments = new Map<string, {done: Promise<FakeOutput>; release: () => void}>()
  /** Execs by id, as getExec finds them. */
  private readonly execs = new Map<string, {id: string; start: (o?: {stdin?: boolean}) => Promise<Duplex>; inspect: () => Promise<{ExitCode: number | null; Running: boolean}>}>()

  constructor(readonly behave: (service: string, image: string) => FakeBehaviour = () => ({})) {}

  private port: EnginePort | undefined
  /** The engine port over this fake: what the services under test are given. */
  get engine(): EnginePort {
    this.port ??= fakePort(this.docker)
    return this.port
  }

  /** The dockerode-shaped object to pass where a Dockerode is expected. */
  get docker(): Dockerode {
    return this as unknown as Dockerode
  }

  private id(prefix: string): string {
    return `${prefix}${String(this.next++).padStart(3, '0')}${'0'.repeat(60)}`.slice(0, 64)
  }

  private serviceOf(c: FakeContainer): string {
    const swarmService = c.labels['com.docker.swarm.service.name']
    const stack = c.labels['com.docker.stack.namespace']
    return c.labels['com.docker.compose.service'] ?? (swarmService && stack ? swarmService.slice(stack.length + 1) : c.name)
  }

  private emit(c: FakeContainer, action: string, attributes: Record<string, string> = {}): void {
    const line = JSON.stringify({Type: 'container', Action: action, Actor: {ID: c.id, Attributes: {...c.labels, ...attributes}}}) + '\n'
    for (const stream of this.eventStreams) stream.write(line)
  }

  private matches(labels: Record<string, string> | undefined, filters?: {label?: string[]}): boolean {
    return (filters?.label ?? []).every((f) => {
      const [key, value] = f.split('=') as [string, string | undefined]
      return value === undefined ? key in (labels ?? {}) : labels?.[key] === value
    })
  }

  async info(): Promise<unknown> {
    return {Swarm: {LocalNodeState: this.swarm.state, ControlAvailable: this.swarm.manager, NodeID: 'node1'}}
  }

  async listNodes(): Promise<unknown[]> {
    return Array.from({length: this.swarm.nodes}, (_, i) => ({ID: `node${i + 1}`, Description: {Hostname: `host${i + 1}`}, Status: {State: 'ready'}, Spec: {Availability: 'active'}}))
  }

  async listContainers(options: {all?: boolean; filters?: {label?: string[]}} = {}): Promise<Dockerode.ContainerInfo[]> {
    return [...this.containers.values()]
      .filter((c) => (options.all || c.status === 'running') && this.matches(c.labels, options.filters))
      .map((c) => {
        // A running container holds its published ports.
        const bindings = c.status === 'running' ? Object.entries(c.spec.HostConfig?.PortBindings ?? {}) : []
        const Ports = bindings.flatMap(([key, list]) => (list as Array<{HostIp?: string; HostPort?: string}>).map((b) => ({PrivatePort: Number(key.split('/')[0]), PublicPort: Number(b.HostPort), IP: b.HostIp ?? '0.0.0.0', Type: key.split('/')[1] ?? 'tcp'})))
        return {Id: c.id, Names: [`/${c.name}`], Image: c.image, ImageID: this.images.get(c.image)?.id ?? '', Labels: c.labels, State: c.status, Status: c.status === 'running' ? 'Up 1 second' : `Exited (${c.exitCode})`, Ports} as unknown as Dockerode.ContainerInfo
      })
  }

  async listNetworks(options: {filters?: {label?: string[]}} = {}): Promise<Array<{Name: string; Id: string; Labels: Record<string, string>}>> {
    return [...this.networks.values()].filter((n) => this.matches(n.labels, options.filters)).map((n) => ({Name: n.name, Id: n.id, Labels: n.labels}))
  }

  async listVolumes(options: {filters?: {label?: string[]}} = {}): Promise<{Volumes: Array<{Name: string; Labels: Record<string, string>}>}> {
    return {Volumes: [...this.volumes.values()].filter((v) => this.matches(v.labels, options.filters)).map((v) => ({Name: v.name, Labels: v.labels}))}
  }

  /** Disk usage: volume sizes as `volumeSizes` sets them. */
  readonly volumeSizes = new Map<string, number>()

  async df(): Promise<unknown> {
    return {Volumes: [...this.volumes.values()].map((v) => ({Name: v.name, UsageData: {Size: this.volumeSizes.get(v.name) ?? 0}}))}
  }

  async listImages(options: {filters?: {label?: string[]}} = {}): Promise<unknown[]> {
    return [...this.images.entries()].filter(([, i]) => this.matches(i.labels, options.filters)).map(([name, i]) => ({Id: i.id, RepoTags: [name], Labels: i.labels ?? {}}))
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

  getNetwork(name: string): {inspect: () => Promise<unknown>; connect: (o: {Container: string}) => Promise<void>; disconnect: (o: {Container: string}) => Promise<void>; remove: () => Promise<void>} {
    const network = (): {name: string; labels: Record<string, string>; containers: Set<string>} | undefined => this.networks.get(name) ?? [...this.networks.values()].find((n) => n.id === name)
    return {
      inspect: async () => {
        const n = network()
        if (!n) throw statusError(`network ${name} not found`, 404)
        return {Name: n.name, Labels: n.labels, Containers: Object.fromEntries([...n.containers].map((id) => [id, {}]))}
      },
      connect: async (o) => {
        network()?.containers.add(o.Container)
      },
      disconnect: async (o) => {
        const n = network()
        if (n?.containers.delete(o.Container)) this.log.push(`network disconnect ${n.name} ${o.Container.slice(0, 4)}`)
      },
      remove: async () => {
        const n = network()
        if (!n) throw statusError(`network ${name} not found`, 404)
        const attached = [...n.containers].filter((id) => this.containers.has(id))
        if (attached.length > 0) throw statusError(`error while removing network: network ${n.name} has active endpoints`, 403)
        this.log.push(`network remove ${n.name}`)
        this.networks.delete(n.name)
      },
    }
  }

  getVolume(name: string): {inspect: () => Promise<unknown>; remove: () => Promise<void>} {
    return {
      inspect: async () => {
        const v = this.volumes.get(name)
        if (!v) throw statusError(`get ${name}: no such volume`, 404)
        return {Name: v.name, Labels: v.labels}
      },
      remove: async () => {
        if (!this.volumes.has(name)) throw statusError(`get ${name}: no such volume`, 404)
        this.log.push(`volume remove ${name}`)
        this.volumes.delete(name)
      },
    }
  }

  /** Pushes by reference; `pushError` makes the registry refuse (the engine reports it inside the progress stream). */
  readonly pushed: string[] = []
  pushError?: string

  getImage(name: string): {inspect: () => Promise<unknown>; remove: () => Promise<void>; push: (o?: unknown) => Promise<Readable>} {
    const find = (): [string, {id: string; healthcheck?: {Test?: string[]; Timeout?: number}; labels?: Record<string, string>}] | undefined =>
      this.images.has(name) ? [name, this.images.get(name) as {id: string}] : [...this.images.entries()].find(([, i]) => i.id === name)
    return {
      inspect: async () => {
        const image = find()?.[1]
        if (!image) throw statusError(`No such image: ${name}`, 404)
        return {Id: image.id, Config: {Healthcheck: image.healthcheck, Labels: image.labels ?? null}}
      },
      push: async () => {
        const image = find()?.[1]
        if (!image) throw statusError(`An image does not exist locally with the tag: ${name}`, 404)
        this.log.push(`image push ${name}`)
        const events: object[] = [{status: 'Preparing', id: 'layer1'}, {status: 'Pushing', id: 'layer1', progressDetail: {current: 512, total: 1024}}]
        if (this.pushError) events.push({errorDetail: {message: this.pushError}, error: this.pushError})
        else {
          this.pushed.push(name)
          events.push({status: 'Pushed', id: 'layer1'}, {status: `${name.split(':').pop()}: digest: sha256:${'d'.repeat(64)} size: 528`}, {progressDetail: {}, aux: {Tag: name.split(':').pop(), Digest: `sha256:${'d'.repeat(64)}`, Size: 528}})
        }
        return Readable.from([events.map((e) => JSON.stringify(e)).join('\n') + '\n'])
      },
      remove: async () => {
        const found = find()
        if (!found) throw statusError(`No such image: ${name}`, 404)
        this.log.push(`image remove ${found[0]}`)
        this.images.delete(found[0])
      },
    }
  }

  /** Images a registry would serve: pulling one streams per-layer progress, then it is here. */
  readonly registry = new Map<string, {id: string; layers: Record<string, number>; error?: string}>()

  async pull(name: string): Promise<Readable> {
    const remote = this.registry.get(name)
    if (!remote) throw statusError(`pull access denied for ${name}: no registry here`, 404)
    this.log.push(`image pull ${name}`)
    const events: object[] = [{status: `Pulling from ${name.split(':')[0]}`, id: name.split(':')[1] ?? 'latest'}]
    for (const [id, total] of Object.entries(remote.layers)) events.push({status: 'Downloading', id, progressDetail: {current: Math.floor(total / 2), total}})
    if (remote.error) events.push({errorDetail: {message: remote.error}, error: remote.error})
    else {
      for (const [id, total] of Object.entries(remote.layers)) events.push({status: 'Downloading', id, progressDetail: {current: total, total}}, {status: 'Pull complete', id})
      events.push({status: `Status: Downloaded newer image for ${name}`})
      this.images.set(name, {id: remote.id})
    }
    return Readable.from([events.map((e) => JSON.stringify(e)).join('\n') + '\n'])
  }

  async getEvents(): Promise<PassThrough> {
    const stream = new PassThrough()
    this.eventStreams.add(stream)
    stream.on('close', () => this.eventStreams.delete(stream))
    return stream
  }

  async createContainer(spec: Dockerode.ContainerCreateOptions): Promise<ReturnType<FakeDocker['getContainer']>> {
    if (!this.images.has(spec.Image as string)) throw statusError(`No such image: ${spec.Image}`, 404)
    if (spec.name && [...this.containers.values()].some((c) => c.name === spec.name)) throw statusError(`Conflict. The container name "/${spec.name}" is already in use`, 409)
    const id = this.id('c')
    const c: FakeContainer = {id, name: spec.name ?? id, labels: spec.Labels ?? {}, image: spec.Image as string, status: 'created', exitCode: 0, startedAt: '0001-01-01T00:00:00Z', restartCount: 0, execs: 0, healthcheck: spec.Healthcheck, spec}
    this.containers.set(id, c)
    for (const network of Object.keys(spec.NetworkingConfig?.EndpointsConfig ?? {})) this.networks.get(network)?.containers.add(id)
    this.log.push(`create ${this.serviceOf(c)}`)
    return this.getContainer(id)
  }

  /** Runs a process the way `behave` says; without `run`, it prints nothing and exits with `exec`. */
  private async runProcess(c: FakeContainer, cmd: string[], env: string[], oneoff: boolean, stdin: Buffer): Promise<FakeOutput> {
    const b = this.behave(this.serviceOf(c), c.image)
    if (b.run) return b.run({service: this.serviceOf(c), image: c.image, cmd, env, oneoff, stdin})
    const n = c.execs++
    return {exitCode: typeof b.exec === 'function' ? b.exec(n) : (b.exec ?? 0)}
  }

  /** A hijacked connection: what is written is the process's stdin; it answers with multiplexed stdout/stderr and ends. */
  private connection(waitForStdin: boolean, run: (stdin: Buffer) => Promise<FakeOutput>, gate: Promise<void> = Promise.resolve()): Duplex {
    const input: Buffer[] = []
    let answered = false
    const answer = (socket: Duplex): void => {
      if (answered) return
      answered = true
      void gate
        .then(() => run(Buffer.concat(input)))
        .then((out) => {
          const stdout = typeof out.stdout === 'string' ? Buffer.from(out.stdout) : (out.stdout ?? Buffer.alloc(0))
          // Large outputs arrive in several frames, as the engine sends them.
          for (let i = 0; i < stdout.length; i += 16_384) socket.push(frame(1, stdout.subarray(i, i + 16_384)))
          if (out.stderr) socket.push(frame(2, Buffer.from(out.stderr)))
          socket.push(null)
        })
        .catch((error: Error) => socket.destroy(error))
    }
    const socket: Duplex = new Duplex({
      read() {},
      write(chunk: Buffer, _encoding, callback) {
        input.push(chunk)
        callback()
      },
      final(callback) {
        answer(socket)
        callback()
      },
    })
    if (!waitForStdin) answer(socket)
    return socket
  }

  /** An interactive connection: every write is answered at once; closing stdin ends the process (exit 0). */
  private interactive(session: FakeSession, exited: (out: FakeOutput) => void): Duplex {
    const socket: Duplex = new Duplex({
      read() {},
      write(chunk: Buffer, _encoding, callback) {
        const out = session.input(chunk.toString('utf8'))
        if (out) socket.push(frame(1, Buffer.from(out)))
        callback()
      },
      final(callback) {
        void Promise.resolve(session.end?.() ?? {exitCode: 0}).then((out) => {
          if (out.stdout) socket.push(frame(1, Buffer.from(out.stdout)))
          if (out.stderr) socket.push(frame(2, Buffer.from(out.stderr)))
          exited(out)
          socket.push(null)
        })
        callback()
      },
    })
    return socket
  }

  getContainer(id: string) {
    const get = (): FakeContainer => {
      const c = this.containers.get(id) ?? [...this.containers.values()].find((x) => x.name === id)
      if (!c) throw statusError(`No such container: ${id}`, 404)
      return c
    }
    const attachedTo = (): {done: Promise<FakeOutput>; release: () => void} | undefined => this.attachments.get(this.containers.get(id)?.id ?? [...this.containers.values()].find((x) => x.name === id)?.id ?? id)
    return {
      id: this.containers.get(id)?.id ?? id,
      start: async (): Promise<void> => {
        const c = get()
        if (c.status === 'running') throw statusError('container already started', 304)
        const b = this.behave(this.serviceOf(c), c.image)
        const startError = typeof b.startError === 'function' ? b.startError(c.id) : b.startError
        if (startError) throw statusError(startError, 500)
        this.log.push(`start ${this.serviceOf(c)}`)
        c.status = 'running'
        c.startedAt = new Date().toISOString()
        this.emit(c, 'start')
        const attached = attachedTo()
        if (attached) {
          attached.release()
          void attached.done.then((out) => {
            c.status = 'exited'
            c.exitCode = out.exitCode
            this.emit(c, 'die', {exitCode: String(out.exitCode)})
          }, () => undefined)
        } else if (b.exitCode !== undefined) {
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
        if (c.status !== 'running' && c.status !== 'paused') throw statusError('container already stopped', 304)
        this.log.push(`stop ${this.serviceOf(c)}`)
        c.status = 'exited'
      },
      pause: async (): Promise<void> => {
        const c = get()
        if (c.status !== 'running') throw statusError(`container ${c.id} is not running`, 409)
        this.log.push(`pause ${this.serviceOf(c)}`)
        c.status = 'paused'
      },
      unpause: async (): Promise<void> => {
        const c = get()
        if (c.status !== 'paused') throw statusError(`container ${c.id} is not paused`, 409)
        this.log.push(`unpause ${this.serviceOf(c)}`)
        c.status = 'running'
      },
      remove: async (options: {force?: boolean} = {}): Promise<void> => {
        const c = get()
        if ((c.status === 'running' || c.status === 'paused') && !options.force) throw statusError(`cannot remove container ${c.name}: container is running: stop the container before removing or force remove`, 409)
        this.log.push(`remove ${this.serviceOf(c)}`)
        this.containers.delete(c.id)
        for (const network of this.networks.values()) network.containers.delete(c.id)
      },
      inspect: async (): Promise<unknown> => {
        const c = get()
        const b = this.behave(this.serviceOf(c), c.image)
        const s = c.spec
        const networks = Object.fromEntries(Object.entries(s.NetworkingConfig?.EndpointsConfig ?? {}).map(([name, e]) => [name, {Aliases: e.Aliases ?? [], IPAMConfig: null}]))
        return {
          Id: c.id,
          Name: `/${c.name}`,
          Image: this.images.get(c.image)?.id ?? '',
          RestartCount: c.restartCount,
          Config: {Image: c.image, Labels: c.labels, Env: s.Env ?? [], Cmd: s.Cmd ?? null, Entrypoint: s.Entrypoint ?? null, WorkingDir: s.WorkingDir ?? '', Tty: s.Tty ?? false, Healthcheck: c.healthcheck},
          HostConfig: s.HostConfig ?? {},
          Mounts: (s.HostConfig?.Mounts ?? []).map((m) => ({Type: m.Type, Name: m.Source, Source: m.Source, Destination: m.Target})),
          State: {Status: c.status, Running: c.status === 'running', Paused: c.status === 'paused', ExitCode: c.exitCode, StartedAt: c.startedAt, ...(b.health && c.status === 'running' ? {Health: {Status: b.health}} : {})},
          NetworkSettings: {Networks: networks},
        }
      },
      exec: async (options: {Cmd?: string[]; Env?: string[]} = {}): Promise<unknown> => {
        const c = get()
        if (c.status !== 'running') throw statusError(`container ${c.id} is not running`, 409)
        let cmd = options.Cmd ?? []
        // backup/streams' watchdog wrapper (`sh -c WATCHDOG sh CMD...`) runs CMD at once and only watches stdin.
        const watchdog = cmd[0] === 'sh' && cmd[1] === '-c' && cmd[2]?.includes('cat <&3; kill $pid')
        if (watchdog) cmd = cmd.slice(4)
        let result: FakeOutput | undefined
        const answer = watchdog ? undefined : this.behave(this.serviceOf(c), c.image).session?.({service: this.serviceOf(c), image: c.image, cmd, env: options.Env ?? [], oneoff: false})
        const exec = {
          id: this.id('e'),
          start: async (o: {stdin?: boolean} = {}): Promise<Duplex> =>
            answer && o.stdin
              ? this.interactive(answer, (out) => {
                  result = out
                })
              : this.connection(Boolean(o.stdin) && !watchdog, async (stdin) => {
              result = await this.runProcess(c, cmd, options.Env ?? [], false, stdin)
              return result
            }),
          inspect: async () => ({ExitCode: result?.exitCode ?? null, Running: result === undefined}),
        }
        this.execs.set(exec.id, exec)
        return exec
      },
      /** A one-off's streams, attached before start: the process runs once started (and its stdin closed, if attached). */
      attach: async (o: {stdin?: boolean} = {}): Promise<Duplex> => {
        const c = get()
        let release = (): void => undefined
        const gate = new Promise<void>((resolve) => {
          release = resolve
        })
        let resolveDone: (out: FakeOutput) => void = () => undefined
        const done = new Promise<FakeOutput>((resolve) => {
          resolveDone = resolve
        })
        this.attachments.set(c.id, {done, release})
        const cmd = [...(c.spec.Entrypoint as string[] | undefined ?? []), ...(c.spec.Cmd as string[] | undefined ?? [])]
        return this.connection(Boolean(o.stdin), async (stdin) => {
          const out = await this.runProcess(c, cmd, c.spec.Env ?? [], true, stdin)
          resolveDone(out)
          return out
        }, gate)
      },
      wait: async (): Promise<{StatusCode: number}> => {
        const attached = attachedTo()
        if (!attached) throw new Error('fake: wait() without attach()')
        return {StatusCode: (await attached.done).exitCode}
      },
      getArchive: async (o: {path: string}): Promise<Readable> => {
        const c = get()
        const files = this.archives.get(`${this.serviceOf(c)}:${o.path}`)
        if (!files) throw statusError(`Could not find the file ${o.path} in container ${c.name}`, 404)
        return Readable.from([tarOf(files)])
      },
      logs: async (): Promise<Buffer> => {
        const c = get()
        const lines = this.behave(this.serviceOf(c), c.image).logs ?? []
        return Buffer.concat(lines.map((line) => frame(1, Buffer.from(`${line}\n`))))
      },
    }
  }

  getExec(id: string) {
    const exec = this.execs.get(id)
    if (!exec) throw statusError(`No such exec instance: ${id}`, 404)
    return exec
  }

  // --- swarm -------------------------------------------------------------------------------

  private taskImage(spec: Dockerode.ServiceSpec): string {
    return (spec.TaskTemplate as Dockerode.ContainerTaskSpec | undefined)?.ContainerSpec?.Image ?? ''
  }

  private serviceName(s: FakeService): string {
    const stack = s.Spec.Labels?.['com.docker.stack.namespace']
    return stack && s.Spec.Name.startsWith(`${stack}_`) ? s.Spec.Name.slice(stack.length + 1) : s.Spec.Name
  }

  /** Does a task of this spec run? As `behave` says for its image: a start error or an exit fails it. */
  private taskRuns(s: FakeService, spec: Dockerode.ServiceSpec): boolean {
    const b = this.behave(this.serviceName(s), this.taskImage(spec))
    return !b.startError && b.exitCode === undefined && b.health !== 'unhealthy'
  }

  /** Replaces the service's tasks with ones of `spec`: running, or failed (with a container whose logs say why). */
  private schedule(s: FakeService, spec: Dockerode.ServiceSpec, ok: boolean): void {
    for (const t of this.tasks) if (t.ServiceID === s.ID && t.DesiredState === 'running') {
      t.DesiredState = 'shutdown'
      if (t.Status.State === 'running') t.Status.State = 'shutdown'
      const container = this.containers.get(t.Status.ContainerStatus?.ContainerID ?? '')
      if (container) container.status = 'exited'
    }
    const replicas = spec.Mode?.Replicated?.Replicas ?? 1
    const containerSpec = (spec.TaskTemplate as Dockerode.ContainerTaskSpec | undefined)?.ContainerSpec
    for (let i = 0; i < replicas; i++) {
      if (ok) {
        const node = this.placement.get(this.serviceName(s)) ?? 'node1'
        const startMs = this.behave(this.serviceName(s), this.taskImage(spec)).taskStartMs
        const task: FakeTask = {ID: this.id('t'), ServiceID: s.ID, NodeID: node, DesiredState: 'running', Spec: {ContainerSpec: containerSpec}, Status: {State: startMs ? 'starting' : 'running', Timestamp: new Date().toISOString()}}
        if (startMs) this.taskReadyAt.set(task.ID, Date.now() + startMs)
        // A running task is a container on its node; this engine sees only its own node's.
        if (node === 'node1') {
          const id = this.id('c')
          const stack = s.Spec.Labels?.['com.docker.stack.namespace']
          const labels: Record<string, string> = {'com.docker.swarm.service.name': s.Spec.Name, 'com.docker.swarm.task.id': task.ID, ...(stack ? {'com.docker.stack.namespace': stack} : {})}
          const image = containerSpec?.Image ?? ''
          this.containers.set(id, {id, name: `${s.Spec.Name}.${i + 1}.${task.ID.slice(0, 8)}`, labels, image, status: 'running', exitCode: 0, startedAt: new Date().toISOString(), restartCount: 0, execs: 0, spec: {Image: image, Env: containerSpec?.Env, HostConfig: {Mounts: containerSpec?.Mounts}}})
          task.Status.ContainerStatus = {ContainerID: id}
        } else {
          // Another node's container: its id is known to the manager, the container is not on this engine.
          task.Status.ContainerStatus = {ContainerID: this.id('remote')}
        }
        this.tasks.push(task)
        continue
      }
      const b = this.behave(this.serviceName(s), this.taskImage(spec))
      const exitCode = b.exitCode ?? 1
      for (let attempt = 0; attempt < 3; attempt++) {
        this.tasks.push({ID: this.id('t'), ServiceID: s.ID, DesiredState: 'shutdown', Spec: {ContainerSpec: containerSpec}, Status: {State: 'failed', Err: `task: non-zero exit (${exitCode})`, Message: 'started', Timestamp: new Date(Date.now() + attempt).toISOString(), ContainerStatus: {ExitCode: exitCode}}})
      }
    }
  }

  async listServices(options: {filters?: {label?: string[]}} = {}): Promise<FakeService[]> {
    return [...this.services.values()].filter((s) => this.matches(s.Spec.Labels, options.filters)).map((s) => structuredClone(s))
  }

  async createService(_auth: unknown, spec: FakeService['Spec']): Promise<{ID: string}> {
    if (!this.swarm.manager) throw statusError('This node is not a swarm manager.', 503)
    const s: FakeService = {ID: this.id('s'), Version: {Index: this.next++}, Spec: structuredClone(spec)}
    this.services.set(s.ID, s)
    this.log.push(`service create ${this.serviceName(s)}`)
    this.schedule(s, s.Spec, this.taskRuns(s, s.Spec))
    return {ID: s.ID}
  }

  getService(id: string) {
    const get = (): FakeService => {
      const s = this.services.get(id)
      if (!s) throw statusError(`service ${id} not found`, 404)
      return s
    }
    return {
      inspect: async (): Promise<FakeService> => {
        const s = structuredClone(get())
        this.pendingRollbacks.get(id)?.()
        this.pendingRollbacks.delete(id)
        return s
      },
      /** An update (or, with rollback=previous, a return to the previous spec): swarm starts new tasks; a failed update is rolled back by failure_action. */
      update: async (o: {_query?: {version?: number; rollback?: string}; _body?: FakeService['Spec']}): Promise<void> => {
        const s = get()
        if (o._query?.version !== s.Version.Index) throw statusError(`update out of sequence`, 500)
        const startedAt = new Date(Date.now() + this.next).toISOString()
        s.Version.Index = this.next++
        if (o._query.rollback === 'previous') {
          if (!s.PreviousSpec) throw statusError('service has no previous spec', 400)
          this.log.push(`service rollback ${this.serviceName(s)}`)
          ;[s.Spec, s.PreviousSpec] = [structuredClone(s.PreviousSpec) as FakeService['Spec'], s.Spec]
          s.UpdateStatus = {State: 'rollback_completed', StartedAt: startedAt, Message: 'manually requested rollback'}
          this.schedule(s, s.Spec, this.taskRuns(s, s.Spec))
          return
        }
        const body = structuredClone(o._body as FakeService['Spec'])
        const sameTasks = JSON.stringify(body.TaskTemplate) === JSON.stringify(s.Spec.TaskTemplate)
        this.log.push(`service ${sameTasks ? 'relabel' : 'update'} ${this.serviceName(s)}`)
        s.PreviousSpec = s.Spec
        s.Spec = body
        if (sameTasks) return
        if (this.taskRuns(s, body)) {
          s.UpdateStatus = {State: 'completed', StartedAt: startedAt, Message: 'update completed'}
          this.schedule(s, body, true)
          return
        }
        this.schedule(s, body, false)
        const action = body.UpdateConfig?.FailureAction ?? 'pause'
        if (action === 'rollback') {
          // Swarm notices the failure a moment later: one inspect still sees the update running.
          s.UpdateStatus = {State: 'updating', StartedAt: startedAt, Message: 'update in progress'}
          this.pendingRollbacks.set(s.ID, () => {
            s.UpdateStatus = {State: 'rollback_completed', StartedAt: startedAt, Message: 'rollback completed'}
            ;[s.Spec, s.PreviousSpec] = [s.PreviousSpec as FakeService['Spec'], s.Spec]
            this.schedule(s, s.Spec, true)
          })
        } else {
          s.UpdateStatus = {State: 'paused', StartedAt: startedAt, Message: 'update paused due to failure or early termination of task'}
        }
      },
      remove: async (): Promise<void> => {
        const s = get()
        this.log.push(`service remove ${this.serviceName(s)}`)
        this.services.delete(id)
        for (const t of this.tasks) if (t.ServiceID === id) {
          t.DesiredState = 'shutdown'
          const container = this.containers.get(t.Status.ContainerStatus?.ContainerID ?? '')
          if (container) this.containers.delete(container.id)
        }
      },
    }
  }

  async listTasks(options: {filters?: {service?: string[]}} = {}): Promise<FakeTask[]> {
    for (const t of this.tasks) {
      const at = this.taskReadyAt.get(t.ID)
      if (at !== undefined && Date.now() >= at && t.Status.State === 'starting') t.Status.State = 'running'
    }
    const ids = options.filters?.service
    return this.tasks.filter((t) => !ids || ids.includes(t.ServiceID)).map((t) => structuredClone(t))
  }

  async listConfigs(options: {filters?: {label?: string[]}} = {}): Promise<unknown[]> {
    return [...this.configs.values()].filter((c) => this.matches(c.Spec.Labels, options.filters))
  }

  async listSecrets(options: {filters?: {label?: string[]}} = {}): Promise<unknown[]> {
    return [...this.secrets.values()].filter((c) => this.matches(c.Spec.Labels, options.filters)).map((s) => ({ID: s.ID, Spec: {Name: s.Spec.Name, Labels: s.Spec.Labels}}))
  }

  async createConfig(spec: {Name: string; Data: string; Labels?: Record<string, string>}): Promise<{ID: string}> {
    if ([...this.configs.values()].some((c) => c.Spec.Name === spec.Name)) throw statusError(`config ${spec.Name} already exists`, 409)
    const ID = this.id('cfg')
    this.configs.set(ID, {ID, Spec: spec})
    this.log.push(`config create ${spec.Name}`)
    return {ID}
  }

  async createSecret(spec: {Name: string; Data: string; Labels?: Record<string, string>}): Promise<{ID: string}> {
    const ID = this.id('sec')
    this.secrets.set(ID, {ID, Spec: spec})
    this.log.push(`secret create ${spec.Name}`)
    return {ID}
  }

  getConfig(id: string): {remove: () => Promise<void>} {
    return {
      remove: async () => {
        const c = this.configs.get(id)
        if (!c) throw statusError(`config ${id} not found`, 404)
        this.log.push(`config remove ${c.Spec.Name}`)
        this.configs.delete(id)
      },
    }
  }

  getSecret(id: string): {remove: () => Promise<void>} {
    return {
      remove: async () => {
        const s = this.secrets.get(id)
        if (!s) throw statusError(`secret ${id} not found`, 404)
        this.log.push(`secret remove ${s.Spec.Name}`)
        this.secrets.delete(id)
      },
    }
  }
}
