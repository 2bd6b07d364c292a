// The unit tests' engine: the port (src/docker/port.ts) over FakeDocker.
import type {Duplex, Readable} from 'node:stream'
import type Dockerode from 'dockerode'

import type {EnginePort} from '../../src/docker/port.js'
import {readProgress} from '../../src/docker/progress.js'

/**
 * The engine port over the in-memory engine (fake-docker.ts), which keeps its state in the shapes
 * of the Engine API's objects (containers, execs, networks, services): each port call becomes the
 * call on the fake that the engine's endpoint would answer.
 */
export function fakePort(docker: Dockerode): EnginePort {
  return {
    containers: {
      list: (options = {}) => docker.listContainers({all: options.all ?? false, filters: options.filters}),
      inspect: (id) => docker.getContainer(id).inspect(),
      create: async (spec) => (await docker.createContainer(spec)).id,
      start: async (id) => {
        await docker.getContainer(id).start()
      },
      stop: async (id, options = {}) => {
        await docker.getContainer(id).stop(options.timeoutS === undefined ? {} : {t: options.timeoutS})
      },
      restart: async (id, options = {}) => {
        await docker.getContainer(id).restart(options.timeoutS === undefined ? {} : {t: options.timeoutS})
      },
      pause: async (id) => {
        await docker.getContainer(id).pause()
      },
      unpause: async (id) => {
        await docker.getContainer(id).unpause()
      },
      remove: async (id, options = {}) => {
        await docker.getContainer(id).remove({force: options.force ?? false, v: options.volumes ?? false})
      },
      wait: async (id) => ((await docker.getContainer(id).wait()) as {StatusCode?: number}).StatusCode ?? null,
      logs: async (id, options) => {
        const raw = (await docker.getContainer(id).logs({stdout: true, stderr: true, tail: options.tail, timestamps: options.timestamps ?? false, since: options.since, follow: false})) as unknown
        return Buffer.isBuffer(raw) ? raw : Buffer.from(String(raw))
      },
      stats: async (id) => (await docker.getContainer(id).stats({stream: false, 'one-shot': true} as {stream: false})) as Awaited<ReturnType<EnginePort['containers']['stats']>>,
      attach: async (id, options) => (await docker.getContainer(id).attach({stream: true, stdin: options.stdin, stdout: true, stderr: true, hijack: true})) as Duplex,
    },
    exec: {
      create: async (containerId, spec) => (await docker.getContainer(containerId).exec({...spec, AttachStdout: true, AttachStderr: true})).id,
      start: async (execId, options) => (await docker.getExec(execId).start({hijack: true, stdin: options.stdin, Tty: options.tty ?? false})) as Duplex,
      inspect: async (execId) => {
        const info = await docker.getExec(execId).inspect()
        return {ExitCode: info.ExitCode ?? null, Running: info.Running}
      },
    },
    archive: {
      put: async (containerId, path, tar) => {
        await docker.getContainer(containerId).putArchive(tar as Buffer, {path})
      },
      get: async (containerId, path) => (await docker.getContainer(containerId).getArchive({path})) as unknown as Readable,
    },
    images: {
      inspect: (name) => docker.getImage(name).inspect(),
      list: (options = {}) => docker.listImages({filters: options.filters}),
      remove: async (name, options = {}) => {
        await docker.getImage(name).remove({force: options.force ?? false})
      },
      pull: async (name, onProgress, options = {}) => readProgress((await docker.pull(name, {authconfig: options.auth, abortSignal: options.signal})) as Readable, onProgress),
      push: async (name, onProgress, options = {}) => readProgress((await docker.getImage(name).push({authconfig: options.auth, abortSignal: options.signal})) as Readable, onProgress),
      build: async (context, options, onProgress) => readProgress((await docker.buildImage({context: context.dir, src: context.files}, options)) as Readable, onProgress),
    },
    networks: {
      list: (options = {}) => docker.listNetworks({filters: options.filters}),
      inspect: (name) => docker.getNetwork(name).inspect() as Promise<Dockerode.NetworkInspectInfo>,
      create: async (spec) => {
        await docker.createNetwork(spec)
      },
      remove: async (name) => {
        await docker.getNetwork(name).remove()
      },
      connect: async (name, containerId, endpoint) => {
        await docker.getNetwork(name).connect(endpoint ? {Container: containerId, EndpointConfig: endpoint} : {Container: containerId})
      },
      disconnect: async (name, containerId, options = {}) => {
        await docker.getNetwork(name).disconnect({Container: containerId, Force: options.force ?? false})
      },
    },
    volumes: {
      list: async (options = {}) => (await docker.listVolumes({filters: options.filters})).Volumes ?? [],
      inspect: (name) => docker.getVolume(name).inspect(),
      create: async (spec) => {
        await docker.createVolume(spec)
      },
      remove: async (name) => {
        await docker.getVolume(name).remove()
      },
    },
    events: {
      follow: async (filters) => (await docker.getEvents({filters})) as unknown as Readable,
    },
    system: {
      ping: async () => {
        await docker.ping()
      },
      info: async () => (await docker.info()) as Awaited<ReturnType<EnginePort['system']['info']>>,
      volumeSizes: async () => ((await docker.df()) as {Volumes?: Array<{Name: string; UsageData?: {Size?: number}}>}).Volumes ?? [],
    },
    swarm: {
      listServices: (options = {}) => docker.listServices({filters: options.filters}),
      inspectService: (id) => docker.getService(id).inspect() as Promise<unknown>,
      createService: async (spec, auth) => {
        const created = (await docker.createService(auth ?? {}, spec)) as unknown as {id?: string; ID?: string}
        return created.ID ?? created.id ?? ''
      },
      updateService: async (id, version, spec, options = {}) => {
        const query: Record<string, string | number> = {version}
        if (options.rollback) query.rollback = 'previous'
        // Query and body apart: dockerode would otherwise put the whole spec in the URL too.
        await docker.getService(id).update({authconfig: options.auth, _query: query, _body: spec})
      },
      removeService: async (id) => {
        await docker.getService(id).remove()
      },
      listTasks: (options = {}) => docker.listTasks({filters: options.filters}) as Promise<unknown[]>,
      listNodes: () => docker.listNodes() as Promise<unknown[]>,
      listSecrets: (options = {}) => docker.listSecrets({filters: options.filters}) as unknown as ReturnType<EnginePort['swarm']['listSecrets']>,
      createSecret: async (spec) => {
        const created = (await docker.createSecret(spec)) as {id?: string; ID?: string}
        return created.ID ?? created.id ?? ''
      },
      removeSecret: async (id) => {
        await docker.getSecret(id).remove()
      },
      listConfigs: (options = {}) => docker.listConfigs({filters: options.filters}) as unknown as ReturnType<EnginePort['swarm']['listConfigs']>,
      createConfig: async (spec) => {
        const created = (await docker.createConfig(spec)) as {id?: string; ID?: string}
        return created.ID ?? created.id ?? ''
      },
      removeConfig: async (id) => {
        await docker.getConfig(id).remove()
      },
    },
  }
}
