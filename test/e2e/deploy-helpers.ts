// What the deploy e2e files share: a git workspace committed version by version, a local registry
// on its own network, a single-node swarm made only when there is none, and removal of a stack.
import {docker, httpGet, PROJECT_LABEL, run, standinImage, waitFor} from './helpers.js'

export const STACK_LABEL = 'com.docker.stack.namespace'

/** git in `dir()` (read at call time: the workspace is made in beforeAll), with a fixed author. */
export function gitIn(dir: () => string): (args: string[]) => Promise<string> {
  return async (args) => {
    const result = await run('git', ['-c', 'user.email=e2e@tta.test', '-c', 'user.name=tta e2e', ...args], {cwd: dir(), timeoutMs: 30_000})
    if (result.code !== 0) throw new Error(`git ${args.join(' ')}: ${result.stderr}`)
    return result.stdout
  }
}

/** Commits the workspace as `version` (after `change`) and tags it, so `git describe` names it. */
export async function commitVersion(git: (args: string[]) => Promise<unknown>, version: string, change: () => void): Promise<void> {
  change()
  await git(['add', '-A'])
  await git(['commit', '-q', '--allow-empty', '-m', version])
  await git(['tag', version])
}

/** The registry stand-in on 127.0.0.1:port, on a network of its own (nothing depends on the default bridge). */
export async function startRegistry(project: string, name: string, port: number): Promise<void> {
  await docker(['network', 'create', '--label', `${PROJECT_LABEL}=${project}`, name])
  await docker(['run', '-d', '--name', name, '--network', name, '--label', `${PROJECT_LABEL}=${project}`, '-p', `127.0.0.1:${port}:5000`, standinImage('registry')])
  await waitFor(async () => (await httpGet(`http://127.0.0.1:${port}/v2/`, 1_000)).status === 200, {timeoutMs: 20_000, description: 'registry /v2/'})
}

/** Makes this engine a single-node swarm unless it is one; true when this call made it (leave it after). */
export async function ensureSwarm(): Promise<boolean> {
  const state = (await docker(['info', '--format', '{{.Swarm.LocalNodeState}}'])).stdout.trim()
  if (state === 'active') return false
  await docker(['swarm', 'init', '--advertise-addr', '127.0.0.1'])
  return true
}

/** The stack's services first, then what they used (configs, secrets, networks, volumes); never fails. */
export async function removeStack(stack: string): Promise<void> {
  const ids = async (kind: string): Promise<string[]> =>
    (await docker([kind, 'ls', '-q', '--filter', `label=${STACK_LABEL}=${stack}`], {allowFailure: true})).stdout.trim().split('\n').filter(Boolean)
  const services = await ids('service')
  if (services.length > 0) await docker(['service', 'rm', ...services], {allowFailure: true})
  await waitFor(async () => (await docker(['ps', '-aq', '--filter', `label=${STACK_LABEL}=${stack}`])).stdout.trim() === '', {timeoutMs: 30_000, description: 'stack tasks gone'}).catch(() => undefined)
  for (const kind of ['config', 'secret', 'network']) {
    const found = await ids(kind)
    if (found.length > 0) await docker([kind, 'rm', ...found], {allowFailure: true})
  }
  const volumes = await ids('volume')
  if (volumes.length > 0) await docker(['volume', 'rm', '-f', ...volumes], {allowFailure: true})
}

/** Host ports of a swarm service's healthy tasks on `target` (host-mode publishing: each task has its own). */
export async function healthyTaskPorts(service: string, target: number): Promise<number[]> {
  const out = await docker(['ps', '--filter', `label=com.docker.swarm.service.name=${service}`, '--filter', 'health=healthy', '--format', '{{.Ports}}'])
  // The IPv4 binding only: we GET 127.0.0.1, and the engine may give the IPv6 one another port.
  return [...new Set([...out.stdout.matchAll(new RegExp(`0\\.0\\.0\\.0:(\\d+)->${target}/tcp`, 'g'))].map((m) => Number(m[1])))]
}
