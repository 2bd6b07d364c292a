import type {DeployType} from '../workspace/deploy-config.js'

/** remove: a swarm service tta created that the compose files no longer have, removed after a successful rollout. */
export type ServiceChange = 'create' | 'update' | 'recreate' | 'unchanged' | 'remove'

export interface ServiceStep {
  service: string
  change: ServiceChange
  reason: string
  image: string
  /** Swarm: replicas (or "global"); compose: always one container. */
  replicas?: number | 'global'
}

/** What a deployment will do, computed before anything changes; `--dry-run` prints it. */
export interface DeployPlan {
  env: string
  type: DeployType
  host: string
  project: string
  action: 'deploy' | 'rollback'
  version: string
  /** The version running now, when the history knows it. */
  currentVersion?: string
  registry?: string
  /** Images to build and push (rollbacks build nothing). */
  builds: Array<{service: string; image: string; push: boolean}>
  services: ServiceStep[]
  /** Services the target runs that this deployment no longer has and keeps (compose targets; swarm services tta did not create). */
  orphans: string[]
  backup: boolean
  notes: string[]
}

export function changedServices(plan: DeployPlan): string[] {
  return plan.services.filter((s) => s.change !== 'unchanged').map((s) => s.service)
}

/** The plan as text: a header line, then one aligned row per image and per service. Pure. */
export function formatDeployPlan(plan: DeployPlan): string {
  const lines: string[] = []
  const from = plan.currentVersion ? ` (running: ${plan.currentVersion})` : ''
  const verb = plan.action === 'rollback' ? 'roll back' : 'deploy'
  lines.push(`${verb} ${plan.project} ${plan.version} to ${plan.env}: ${plan.type} at ${plan.host}${from}`)
  if (plan.builds.length > 0) {
    lines.push('images:')
    const width = Math.max(...plan.builds.map((b) => b.service.length))
    for (const build of plan.builds) lines.push(`  ${build.service.padEnd(width)}  build${build.push ? ' + push' : ''}  ${build.image}`)
  } else if (plan.action === 'rollback') {
    lines.push('images: none built (the version’s images are in the registry)')
  }
  lines.push('services:')
  const rows = plan.services.map((s) => [s.service, s.change, s.replicas === undefined ? '' : s.replicas === 'global' ? 'global' : `${s.replicas}×`, s.image, s.change === 'unchanged' ? '' : s.reason])
  const widths = [0, 1, 2, 3].map((i) => Math.max(0, ...rows.map((r) => (r[i] ?? '').length)))
  for (const row of rows) lines.push(`  ${row.map((cell, i) => (i < 4 ? cell.padEnd(widths[i] ?? 0) : cell)).join('  ')}`.trimEnd())
  const changed = changedServices(plan).length
  lines.push(`${changed} of ${plan.services.length} services change${plan.backup ? '; datastores are backed up first' : ''}`)
  if (plan.orphans.length > 0) lines.push(`kept, no longer in the compose files${plan.type === 'swarm' ? ' (not created by tta)' : ''}: ${plan.orphans.join(', ')}`)
  for (const note of plan.notes) lines.push(`note: ${note}`)
  return lines.join('\n')
}
