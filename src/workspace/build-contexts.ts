import {statSync} from 'node:fs'

import type {Project} from '../compose/model.js'
import {withDependencies} from '../engine/graph.js'
import {ExitCode, TtaError} from '../errors.js'

/** Services (among `services` and their dependencies) whose build context is not a directory here. Reads only. */
export function missingBuildContexts(project: Project, services: string[] = []): Array<{service: string; context: string}> {
  const missing: Array<{service: string; context: string}> = []
  for (const name of withDependencies(project, services)) {
    const context = project.services[name]?.build?.context
    // A remote context (git URL, tarball URL) is the builder's to fetch.
    if (context === undefined || /^[a-z][a-z0-9+.-]*:\/\//i.test(context) || context.startsWith('git@')) continue
    if (!statSync(context, {throwIfNoEntry: false})?.isDirectory()) missing.push({service: name, context})
  }
  return missing
}

/**
 * Refuses (exit 2) before anything is pulled, built or created when build contexts are missing:
 * most often `tta dev` run outside a TTA checkout, where the bundled files find no sources.
 */
export function refuseMissingBuildContexts(project: Project, services: string[], workspaceRoot: string, command = 'dev'): void {
  const missing = missingBuildContexts(project, services)
  if (missing.length === 0) return
  const shown = missing.slice(0, 3).map((m) => `${m.service} (${m.context})`).join(', ') + (missing.length > 3 ? ` and ${missing.length - 3} more` : '')
  const buildless = Object.values(project.services).filter((s) => !s.build).map((s) => s.name).sort()
  throw new TtaError(
    `${workspaceRoot} does not look like a TTA checkout: the build context of ${shown} ${missing.length === 1 ? 'is' : 'are'} missing; nothing was pulled, built or created`,
    ExitCode.badInput,
    `run tta in a TTA checkout, or pass --workspace DIR (TTA_WORKSPACE) pointing at one${buildless.length > 0 ? `; services without a build can run alone (tta ${command} ${buildless.slice(0, 2).join(' ')})` : ''}`,
  )
}
