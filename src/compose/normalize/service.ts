/** One service, from its tree to the Service model: the keys in Compose's print order, each part delegated by area. */
import {InputError} from '../../errors.js'
import {parseImageReference} from '../image-ref.js'
import type {Healthcheck, Service} from '../model.js'
import {childPath} from '../schema.js'
import type {PMap, PNode} from '../tree.js'
import {fileRefs, ports, serviceNetworks, volumes} from './attachments.js'
import {build} from './build.js'
import type {Ctx, ServiceRefs} from './context.js'
import {dependsOn, implicitDependencies} from './dependencies.js'
import {develop} from './develop.js'
import {readEnvFiles} from './env-file.js'
import {extraHosts, hostConfigKeys, logging} from './host-config.js'
import {asMap, bool, bytes, command, duration, get, int, num, setIf, str, strList, strMap} from './readers.js'
import {blkioConfig, deploy, deviceRequests, ulimits} from './resources.js'

const RESTART = /^(no|always|unless-stopped|on-failure(:\d+)?)$/
const PULL_POLICY = /^(always|never|missing|build|if_not_present|daily|weekly|every_.+)$/

export function service(name: string, m: PMap, ctx: Ctx, refs: ServiceRefs): Service {
  const p = ctx.servicePath
  const k = (key: string): string => childPath(p, key)
  const s: Partial<Service> & {name: string} = {name}
  setIf(s, 'profiles', strList(get(m, 'profiles')))
  setIf(s, 'build', build(get(m, 'build'), k('build'), ctx, refs))
  setIf(s, 'cap_add', strList(get(m, 'cap_add')))
  setIf(s, 'cap_drop', strList(get(m, 'cap_drop')))
  const cpus = get(m, 'cpus')
  if (cpus) {
    const c = num(cpus)
    if (c === undefined || Number.isNaN(c) || c < 0) ctx.error(`invalid cpus "${str(cpus)}"`, cpus, k('cpus'))
    else if (c !== 0) s.cpus = c
  }
  s.command = command(get(m, 'command'), k('command'), ctx)
  setIf(s, 'configs', fileRefs(get(m, 'configs'), k('configs'), 'configs', refs.configs, ctx))
  setIf(s, 'container_name', str(get(m, 'container_name')))
  setIf(s, 'depends_on', dependsOn(get(m, 'depends_on'), k('depends_on'), ctx))
  setIf(s, 'deploy', deploy(get(m, 'deploy'), k('deploy'), ctx))
  setIf(s, 'dns', strList(get(m, 'dns')))
  setIf(s, 'domainname', str(get(m, 'domainname')))
  s.entrypoint = command(get(m, 'entrypoint'), k('entrypoint'), ctx)
  setIf(s, 'environment', environment(m, k('environment'), ctx))
  setIf(s, 'expose', strList(get(m, 'expose')))
  setIf(s, 'extra_hosts', extraHosts(get(m, 'extra_hosts')))
  setIf(s, 'hostname', str(get(m, 'hostname')))
  setIf(s, 'healthcheck', healthcheck(get(m, 'healthcheck'), k('healthcheck'), ctx))
  const imageNode = get(m, 'image')
  const image = str(imageNode)
  if (image !== undefined && imageNode) {
    try {
      parseImageReference(image)
    } catch (e) {
      ctx.error((e as Error).message, imageNode, k('image'))
    }
    s.image = image
  }
  if (image === undefined && !s.build) ctx.error(`service "${name}" has neither an image nor a build context`, m, p)
  setIf(s, 'init', bool(get(m, 'init')))
  setIf(s, 'ipc', str(get(m, 'ipc')))
  setIf(s, 'labels', strMap(get(m, 'labels')))
  setIf(s, 'logging', logging(get(m, 'logging')))
  setIf(s, 'mem_limit', bytes(get(m, 'mem_limit'), k('mem_limit'), ctx))
  const networkMode = str(get(m, 'network_mode'))
  setIf(s, 'network_mode', networkMode)
  // An empty `networks:` is no networks key at all for Compose: the service joins `default`.
  const declared = asMap(get(m, 'networks'))
  const nets = declared && declared.entries.size > 0 ? declared : undefined
  if (nets && networkMode !== undefined) {
    ctx.error('network_mode and networks cannot be combined', get(m, 'network_mode') ?? m, k('network_mode'))
  }
  setIf(s, 'networks', serviceNetworks(m, nets, networkMode, p, refs.networks))
  setIf(s, 'pid', str(get(m, 'pid')))
  setIf(s, 'platform', str(get(m, 'platform')))
  // The image a service runs must be one its build makes.
  if (s.platform !== undefined && s.build?.platforms && s.build.platforms.length > 0 && !s.build.platforms.includes(s.platform)) {
    ctx.error(`build.platforms must include the service's platform "${s.platform}" (it has ${s.build.platforms.join(', ')})`, get(m, 'platform') ?? m, k('platform'))
  }
  setIf(s, 'ports', ports(get(m, 'ports'), k('ports'), ctx))
  if (bool(get(m, 'privileged'))) s.privileged = true
  const pull = str(get(m, 'pull_policy'))
  if (pull !== undefined) {
    if (!PULL_POLICY.test(pull)) ctx.error(`invalid pull_policy "${pull}" (expected always, never, missing, build, daily, weekly or every_<duration>)`, get(m, 'pull_policy') ?? m, k('pull_policy'))
    else s.pull_policy = pull
  }
  if (bool(get(m, 'read_only'))) s.read_only = true
  const restart = str(get(m, 'restart'))
  if (restart !== undefined) {
    if (!RESTART.test(restart)) {
      ctx.error(`invalid restart policy "${restart}" (expected no, always, on-failure[:N] or unless-stopped)`, get(m, 'restart') ?? m, k('restart'))
    } else s.restart = restart
  }
  setIf(s, 'scale', int(get(m, 'scale')))
  setIf(s, 'secrets', fileRefs(get(m, 'secrets'), k('secrets'), 'secrets', refs.secrets, ctx))
  setIf(s, 'security_opt', strList(get(m, 'security_opt')))
  setIf(s, 'shm_size', bytes(get(m, 'shm_size'), k('shm_size'), ctx))
  if (bool(get(m, 'stdin_open'))) s.stdin_open = true
  setIf(s, 'stop_grace_period', duration(get(m, 'stop_grace_period'), k('stop_grace_period'), ctx))
  setIf(s, 'stop_signal', str(get(m, 'stop_signal')))
  setIf(s, 'sysctls', strMap(get(m, 'sysctls')))
  setIf(s, 'tmpfs', strList(get(m, 'tmpfs')))
  if (bool(get(m, 'tty'))) s.tty = true
  setIf(s, 'ulimits', ulimits(get(m, 'ulimits'), k('ulimits'), ctx))
  setIf(s, 'user', str(get(m, 'user')))
  setIf(s, 'volumes', volumes(get(m, 'volumes'), k('volumes'), ctx, refs.volumes))
  setIf(s, 'working_dir', str(get(m, 'working_dir')))
  hostConfigKeys(s, m, ctx)
  setIf(s, 'blkio_config', blkioConfig(get(m, 'blkio_config'), k('blkio_config'), ctx))
  const gpus = get(m, 'gpus')
  if (gpus?.kind === 'scalar' && gpus.value !== null) {
    // `gpus: all` is one request for every GPU.
    if (str(gpus) !== 'all') ctx.error(`invalid gpus "${str(gpus) ?? ''}" (all, or a list of device requests)`, gpus, k('gpus'))
    else s.gpus = [{count: -1}]
  } else setIf(s, 'gpus', deviceRequests(gpus, k('gpus'), ctx, false))
  const credentialSpec = asMap(get(m, 'credential_spec'))
  if (credentialSpec) {
    const spec: NonNullable<Service['credential_spec']> = {}
    setIf(spec, 'config', str(get(credentialSpec, 'config')))
    setIf(spec, 'file', str(get(credentialSpec, 'file')))
    setIf(spec, 'registry', str(get(credentialSpec, 'registry')))
    s.credential_spec = spec
    ctx.b.warnings.push(
      InputError.format('credential_spec is ignored: it configures gMSA for Windows containers, and tta runs Linux containers (as Compose does, it passes nothing to the engine)', m.entries.get('credential_spec')?.keyPos ?? m.pos, k('credential_spec')),
    )
  }
  setIf(s, 'develop', develop(get(m, 'develop'), k('develop'), ctx))
  implicitDependencies(s, m, ctx, refs)
  return s as Service
}

/** env_file entries (read from disk), then `environment:` over them; a name without a value takes it from the environment. */
function environment(svc: PMap, keyPath: string, ctx: Ctx): Record<string, string | null> | undefined {
  const envFiles = get(svc, 'env_file')
  const explicit = asMap(get(svc, 'environment'))
  if (!envFiles && !explicit) return undefined
  // The entries' key paths hang off `environment` (services.x.environment.env_file[0]); kept so error texts do not change.
  const values = readEnvFiles(envFiles, childPath(keyPath, 'env_file'), ctx)
  if (explicit) {
    for (const e of explicit.entries.values()) {
      const v = e.value
      values[e.key] = str(v) ?? null
    }
  }
  const out: Record<string, string | null> = {}
  for (const k of Object.keys(values).sort()) {
    const v = values[k] ?? null
    // A name without a value takes it from the environment (Compose does the same).
    out[k] = v === null ? (ctx.b.lookup(k) ?? null) : v
  }
  return out
}

function healthcheck(n: PNode | undefined, keyPath: string, ctx: Ctx): Healthcheck | undefined {
  const m = asMap(n)
  if (!m) return undefined
  const out: Healthcheck = {}
  const test = get(m, 'test')
  if (test?.kind === 'scalar' && test.value !== null) out.test = ['CMD-SHELL', String(test.value)]
  else if (test?.kind === 'seq') {
    const t = strList(test) ?? []
    if (t.length > 0 && !['NONE', 'CMD', 'CMD-SHELL'].includes(t[0] as string)) {
      ctx.error(`a healthcheck test list must start with "CMD", "CMD-SHELL" or "NONE", not "${t[0]}"`, test, childPath(keyPath, 'test'))
    }
    if (t.length === 0 || (t.length === 1 && t[0] !== 'NONE')) {
      ctx.error('the healthcheck test is empty (give a command, or use disable: true)', test, childPath(keyPath, 'test'))
    }
    out.test = t
  }
  setIf(out, 'timeout', duration(get(m, 'timeout'), childPath(keyPath, 'timeout'), ctx))
  setIf(out, 'interval', duration(get(m, 'interval'), childPath(keyPath, 'interval'), ctx))
  const retries = int(get(m, 'retries'))
  if (retries !== undefined && retries < 0) {
    ctx.error(`retries must not be negative (got ${retries})`, get(m, 'retries') ?? m, childPath(keyPath, 'retries'))
  } else setIf(out, 'retries', retries)
  setIf(out, 'start_period', duration(get(m, 'start_period'), childPath(keyPath, 'start_period'), ctx))
  setIf(out, 'start_interval', duration(get(m, 'start_interval'), childPath(keyPath, 'start_interval'), ctx))
  if (bool(get(m, 'disable'))) out.disable = true
  return out
}

