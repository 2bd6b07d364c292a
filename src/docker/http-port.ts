import {splitImageRef} from '../compose/image-ref.js'
import type {EngineApi, EngineRequest} from './api.js'
import {readProgress} from './progress.js'
import type {AuthConfig, ContainerDetails, ContainerSummary, EnginePort, ImageDetails, NetworkDetails, VolumeDetails} from './port.js'

/**
 * The engine port over tta's own HTTP client (docker/api.ts), which connects through the one
 * transport (docker/transport.ts: unix socket, npipe, tcp with TLS, ssh). Engine calls that take
 * long by nature (a container's wait, a stop, a pull's answer) are not bounded here: the callers
 * bound them where a bound means something.
 */
export function httpPort(api: EngineApi): EnginePort {
  const call = <T>(request: EngineRequest): Promise<T> => api.json<T>({timeoutMs: 0, ...request})
  const none = async (request: EngineRequest): Promise<void> => {
    await call<unknown>(request)
  }
  const post = (path: string, query?: EngineRequest['query'], body?: unknown): Promise<void> => none({method: 'POST', path, query, body})
  const id = (value: string): string => encodeURIComponent(value)
  // The engine decodes this header as padded URL-safe base64 (Go's base64.URLEncoding).
  const auth = (config: AuthConfig | undefined): Record<string, string> => ({'x-registry-auth': Buffer.from(JSON.stringify(config ?? {})).toString('base64').replace(/\+/g, '-').replace(/\//g, '_')})
  /** The repository part of a reference, registry host included: what /images/create and /push take beside the tag. */
  const repository = (ref: ReturnType<typeof splitImageRef>): string => `${ref.domain ? `${ref.domain}/` : ''}${ref.path}`
  const progress = async (request: EngineRequest, onEvent: Parameters<typeof readProgress>[1]): Promise<void> => readProgress(await api.stream({timeoutMs: 0, ...request}), onEvent)

  return {
    containers: {
      list: (options = {}) => call<ContainerSummary[]>({path: '/containers/json', query: {all: options.all ? 1 : undefined, filters: options.filters}}),
      inspect: (name) => call<ContainerDetails>({path: `/containers/${id(name)}/json`}),
      create: async (spec) => {
        const {name, platform, ...body} = spec as typeof spec & {platform?: string}
        return (await call<{Id: string}>({method: 'POST', path: '/containers/create', query: {name, platform}, body})).Id
      },
      start: (name) => post(`/containers/${id(name)}/start`),
      stop: (name, options = {}) => post(`/containers/${id(name)}/stop`, {t: options.timeoutS}),
      restart: (name, options = {}) => post(`/containers/${id(name)}/restart`, {t: options.timeoutS}),
      pause: (name) => post(`/containers/${id(name)}/pause`),
      unpause: (name) => post(`/containers/${id(name)}/unpause`),
      remove: (name, options = {}) => none({method: 'DELETE', path: `/containers/${id(name)}`, query: {force: options.force ? 1 : undefined, v: options.volumes ? 1 : undefined}}),
      wait: async (name) => (await call<{StatusCode?: number}>({method: 'POST', path: `/containers/${id(name)}/wait`})).StatusCode ?? null,
      logs: async (name, options) => {
        const body = await api.stream({path: `/containers/${id(name)}/logs`, query: {stdout: 1, stderr: 1, tail: options.tail ?? 'all', timestamps: options.timestamps ? 1 : undefined, since: options.since}, timeoutMs: 30_000})
        const chunks: Buffer[] = []
        for await (const chunk of body) chunks.push(chunk as Buffer)
        return Buffer.concat(chunks)
      },
      stats: (name) => call({path: `/containers/${id(name)}/stats`, query: {stream: 0, 'one-shot': 1}}),
      attach: (name, options) => api.hijack({path: `/containers/${id(name)}/attach`, query: {stream: 1, stdin: options.stdin ? 1 : undefined, stdout: 1, stderr: 1}, timeoutMs: 0}),
    },
    exec: {
      create: async (containerId, spec) =>
        (await call<{Id: string}>({method: 'POST', path: `/containers/${id(containerId)}/exec`, body: {...spec, AttachStdin: spec.AttachStdin ?? false, AttachStdout: true, AttachStderr: true}})).Id,
      start: (execId, options) => api.hijack({path: `/exec/${id(execId)}/start`, body: {Detach: false, Tty: options.tty ?? false}, timeoutMs: 0}),
      inspect: async (execId) => {
        const info = await call<{ExitCode?: number | null; Running: boolean}>({path: `/exec/${id(execId)}/json`})
        return {ExitCode: info.ExitCode ?? null, Running: info.Running}
      },
    },
    archive: {
      put: (containerId, path, tar) => none({method: 'PUT', path: `/containers/${id(containerId)}/archive`, query: {path}, body: tar, contentType: 'application/x-tar'}),
      get: (containerId, path) => api.stream({path: `/containers/${id(containerId)}/archive`, query: {path}, timeoutMs: 0}),
    },
    images: {
      inspect: (name) => call<ImageDetails>({path: `/images/${name}/json`}),
      list: (options = {}) => call({path: '/images/json', query: {filters: options.filters}}),
      remove: (name, options = {}) => none({method: 'DELETE', path: `/images/${name}`, query: {force: options.force ? 1 : undefined}}),
      pull: (name, onProgress, options = {}) => {
        const ref = splitImageRef(name)
        // A digest pins the image; else the tag, `latest` when none (as the docker CLI pulls).
        const tag = ref.digest ?? ref.tag ?? 'latest'
        return progress({method: 'POST', path: '/images/create', query: {fromImage: repository(ref), tag}, headers: auth(options.auth), signal: options.signal}, onProgress)
      },
      push: (name, onProgress, options = {}) => {
        const ref = splitImageRef(name)
        return progress({method: 'POST', path: `/images/${repository(ref)}/push`, query: {tag: ref.tag}, headers: auth(options.auth), signal: options.signal}, onProgress)
      },
      build: async (context, options, onProgress) => {
        // tar-stream loads only for a build: `tta status` (which builds this port for its exec probes) starts without it.
        const {packDirectory} = await import('./pack.js')
        // The options are the endpoint's query as is (objects as JSON, booleans as the engine reads them).
        return progress({method: 'POST', path: '/build', query: {...options}, body: packDirectory(context.dir, context.files), contentType: 'application/x-tar'}, onProgress)
      },
    },
    networks: {
      list: (options = {}) => call<NetworkDetails[]>({path: '/networks', query: {filters: options.filters}}),
      inspect: (name) => call<NetworkDetails>({path: `/networks/${id(name)}`}),
      create: (spec) => post('/networks/create', undefined, spec),
      remove: (name) => none({method: 'DELETE', path: `/networks/${id(name)}`}),
      connect: (name, containerId, endpoint) => post(`/networks/${id(name)}/connect`, undefined, endpoint ? {Container: containerId, EndpointConfig: endpoint} : {Container: containerId}),
      disconnect: (name, containerId, options = {}) => post(`/networks/${id(name)}/disconnect`, undefined, {Container: containerId, Force: options.force ?? false}),
    },
    volumes: {
      list: async (options = {}) => (await call<{Volumes?: VolumeDetails[] | null}>({path: '/volumes', query: {filters: options.filters}})).Volumes ?? [],
      inspect: (name) => call<VolumeDetails>({path: `/volumes/${id(name)}`}),
      create: (spec) => post('/volumes/create', undefined, spec),
      remove: (name) => none({method: 'DELETE', path: `/volumes/${id(name)}`}),
    },
    events: {
      follow: (filters) => api.stream({path: '/events', query: {filters}, timeoutMs: 0}),
    },
    system: {
      ping: () => none({path: '/_ping', timeoutMs: 10_000}),
      info: () => call({path: '/info'}),
      volumeSizes: async () => (await call<{Volumes?: Array<{Name: string; UsageData?: {Size?: number}}> | null}>({path: '/system/df', query: {type: 'volume'}})).Volumes ?? [],
    },
    swarm: {
      listServices: (options = {}) => call({path: '/services', query: {filters: options.filters}}),
      inspectService: (name) => call({path: `/services/${id(name)}`}),
      createService: async (spec, config) => {
        const created = await call<{ID?: string; id?: string}>({method: 'POST', path: '/services/create', body: spec, headers: auth(config)})
        return created.ID ?? created.id ?? ''
      },
      updateService: (name, version, spec, options = {}) =>
        none({method: 'POST', path: `/services/${id(name)}/update`, query: {version, rollback: options.rollback ? 'previous' : undefined}, body: spec, headers: auth(options.auth)}),
      removeService: (name) => none({method: 'DELETE', path: `/services/${id(name)}`}),
      listTasks: (options = {}) => call({path: '/tasks', query: {filters: options.filters}}),
      listNodes: () => call({path: '/nodes'}),
      listSecrets: (options = {}) => call({path: '/secrets', query: {filters: options.filters}}),
      createSecret: async (spec) => (await call<{ID: string}>({method: 'POST', path: '/secrets/create', body: spec})).ID,
      removeSecret: (name) => none({method: 'DELETE', path: `/secrets/${id(name)}`}),
      listConfigs: (options = {}) => call({path: '/configs', query: {filters: options.filters}}),
      createConfig: async (spec) => (await call<{ID: string}>({method: 'POST', path: '/configs/create', body: spec})).ID,
      removeConfig: (name) => none({method: 'DELETE', path: `/configs/${id(name)}`}),
    },
  }
}
