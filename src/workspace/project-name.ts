import {existsSync, readFileSync, statSync} from 'node:fs'
import {basename, dirname, isAbsolute, join, resolve} from 'node:path'

import {isValidProjectName} from '../compose/project-name.js'
import {ExitCode, TtaError} from '../errors.js'
import type {Workspace} from './root.js'

export const DEFAULT_PROJECT_NAME = 'tta'

/**
 * The compose project name: the flag, else tta.config.yaml, else "tta" for the main checkout and
 * "tta-<dir>" for a linked git worktree, so checkouts side by side never share a stack. A bad
 * flag value is refused (exit 2).
 */
export function projectNameFor(request: {projectName?: string; workspace: Workspace}): string {
  if (request.projectName !== undefined && !isValidProjectName(request.projectName)) {
    throw new TtaError(`invalid --project-name "${request.projectName}"`, ExitCode.badInput, 'use lowercase letters, digits, "-" and "_", starting with a letter or digit (as Compose does)')
  }
  return request.projectName ?? request.workspace.config.projectName ?? checkoutProjectName(request.workspace.root)
}

/** "tta", or "tta-<worktree dir>" when `root` lies in a linked git worktree. */
export function checkoutProjectName(root: string): string {
  const worktree = linkedWorktree(root)
  return worktree ? worktreeProjectName(basename(worktree)) : DEFAULT_PROJECT_NAME
}

/** `tta-<name>` with the name made Compose-valid: lowercase, runs of other characters as one "-". */
export function worktreeProjectName(dirName: string): string {
  const clean = dirName
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^[-_]+|[-_]+$/g, '')
    .slice(0, 60)
  return clean === '' ? DEFAULT_PROJECT_NAME : `${DEFAULT_PROJECT_NAME}-${clean}`
}

/**
 * The top directory of the linked git worktree holding `start`, else undefined (main checkout,
 * submodule, no git). Read from the files, not by running git: `tta status` must stay fast. A
 * linked worktree's `.git` is a file `gitdir: <main>/.git/worktrees/<id>`, and only that gitdir
 * (not a submodule's) has a `commondir` file.
 */
export function linkedWorktree(start: string): string | undefined {
  let dir = resolve(start)
  for (;;) {
    const dotGit = join(dir, '.git')
    if (existsSync(dotGit)) {
      try {
        if (statSync(dotGit).isDirectory()) return undefined
        const match = /^gitdir:\s*(.+?)\s*$/m.exec(readFileSync(dotGit, 'utf8'))
        if (!match?.[1]) return undefined
        const gitDir = isAbsolute(match[1]) ? match[1] : resolve(dir, match[1])
        return existsSync(join(gitDir, 'commondir')) ? dir : undefined
      } catch {
        return undefined
      }
    }
    const parent = dirname(dir)
    if (parent === dir) return undefined
    dir = parent
  }
}
