import {existsSync, readFileSync} from 'node:fs'
import {homedir} from 'node:os'
import {join} from 'node:path'

import {splitImageRef} from '../compose/image-ref.js'
import type {EnginePort} from '../docker/port.js'

/** The parts of an image reference tta needs to re-home it in another registry. */
export function splitImage(image: string): {domain?: string; path: string} {
  const {domain, path} = splitImageRef(image)
  return domain ? {domain, path} : {path}
}

/**
 * The image a built service is deployed as: the registry, the image's repository path, the
 * version as tag. `tta/admin-api:dev` with registry `reg.example.com:5000` and version `v2` is
 * `reg.example.com:5000/tta/admin-api:v2`. Without a registry the image keeps its own. Pure.
 */
export function deployImageRef(registry: string | undefined, image: string, version: string): string {
  const {domain, path} = splitImage(image)
  const home = registry ?? domain
  return `${home ? `${home}/` : ''}${path}:${version}`
}

export function registryHost(registry: string): string {
  return registry.split('/')[0] as string
}

/** Loopback registries are the ones the engine talks plain HTTP to by default. */
export function isLoopbackRegistry(host: string): boolean {
  const name = host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '')
  return name === 'localhost' || name === '::1' || /^127\./.test(name)
}

export interface RegistryAuth {
  username?: string
  password?: string
  identitytoken?: string
  serveraddress: string
}

/**
 * Credentials for a registry the way the docker CLI keeps them (`docker login`): a credential
 * helper, else `auths` in the config file. The engine requires an auth header on push even for
 * an open registry, so without credentials an empty one is sent.
 */
export async function registryAuth(host: string, env: NodeJS.ProcessEnv = process.env): Promise<RegistryAuth> {
  const empty: RegistryAuth = {username: '', password: '', serveraddress: host}
  const file = join(env.DOCKER_CONFIG ?? join(homedir(), '.docker'), 'config.json')
  if (!existsSync(file)) return empty
  let config: {auths?: Record<string, {auth?: string; identitytoken?: string}>; credsStore?: string; credHelpers?: Record<string, string>}
  try {
    config = JSON.parse(readFileSync(file, 'utf8'))
  } catch {
    return empty
  }
  const helper = config.credHelpers?.[host] ?? config.credsStore
  if (helper) {
    const {execa} = await import('execa')
    // Never traced (--debug): its output is a credential.
    const result = await execa(`docker-credential-${helper}`, ['get'], {input: host, reject: false, timeout: 10_000}).catch(() => undefined)
    if (result?.exitCode === 0) {
      try {
        const creds = JSON.parse(result.stdout) as {Username?: string; Secret?: string}
        if (creds.Username === '<token>') return {identitytoken: creds.Secret, serveraddress: host}
        return {username: creds.Username ?? '', password: creds.Secret ?? '', serveraddress: host}
      } catch {
        // A helper that answers garbage is as good as none.
      }
    }
  }
  const entry = config.auths?.[host] ?? config.auths?.[`https://${host}`] ?? config.auths?.[`http://${host}`]
  if (entry?.identitytoken) return {identitytoken: entry.identitytoken, serveraddress: host}
  if (entry?.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    if (colon > 0) return {username: decoded.slice(0, colon), password: decoded.slice(colon + 1), serveraddress: host}
  }
  return empty
}

/**
 * Does the registry answer its API (`GET /v2/`: 200, or 401 when it wants a login)? Plain HTTP
 * for loopback registries (the engine's default insecure range), HTTPS otherwise.
 */
export async function registryAnswers(registry: string, timeoutMs = 3000): Promise<{ok: boolean; detail: string}> {
  const host = registryHost(registry)
  const url = `${isLoopbackRegistry(host) ? 'http' : 'https'}://${host}/v2/`
  try {
    const response = await fetch(url, {signal: AbortSignal.timeout(timeoutMs), redirect: 'manual'})
    await response.body?.cancel()
    if (response.status === 200 || response.status === 401) return {ok: true, detail: `${url} answered ${response.status}`}
    return {ok: false, detail: `${url} answered HTTP ${response.status}, not a registry API`}
  } catch (error) {
    const cause = (error as {cause?: {code?: string; message?: string}}).cause
    return {ok: false, detail: `${url}: ${cause?.code ?? cause?.message ?? (error as Error).message}`}
  }
}

export interface PushProgress {
  current: number
  total: number
}

/** Pushes an image through the engine; resolves with the manifest digest the registry reported. */
export async function pushImage(engine: Pick<EnginePort, 'images'>, ref: string, auth: RegistryAuth, onProgress: (p: PushProgress) => void, signal?: AbortSignal): Promise<string | undefined> {
  const layers = new Map<string, {current: number; total: number}>()
  let digest: string | undefined
  // The registry's refusal arrives inside the stream: images.push rejects with it.
  await engine.images.push(
    ref,
    (event) => {
      const aux = event.aux as {Digest?: string} | null | undefined
      if (aux?.Digest) digest = aux.Digest
      if (event.id && event.progressDetail?.total) layers.set(event.id, {current: Math.min(event.progressDetail.current ?? 0, event.progressDetail.total), total: event.progressDetail.total})
      else if (event.id && event.status && /^(Pushed|Layer already exists|Mounted from)/.test(event.status)) {
        const layer = layers.get(event.id)
        if (layer) layer.current = layer.total
      }
      let current = 0
      let total = 0
      for (const layer of layers.values()) {
        current += layer.current
        total += layer.total
      }
      onProgress({current, total})
    },
    {auth, signal},
  )
  return digest
}
