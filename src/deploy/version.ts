import {hostname, userInfo} from 'node:os'

import {ExitCode, TtaError} from '../errors.js'
import {execVerbose} from '../debug.js'

/** What git says about the workspace; every field is optional because a workspace need not be a repository. */
export interface GitState {
  isRepo: boolean
  commit?: string
  /** `git describe --tags --always --dirty`. */
  describe?: string
  /** Changed or untracked paths below the workspace (`git status --porcelain -- .`). */
  dirty: string[]
}

/** Docker's tag grammar: up to 128 of [A-Za-z0-9_.-], not starting with "." or "-". */
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/

export function versionProblem(version: string): string | undefined {
  if (TAG.test(version)) return undefined
  return `"${version}" is not a valid image tag (letters, digits, "_", "." and "-", up to 128, not starting with "." or "-")`
}

/**
 * The version to deploy: `--version`, else `git describe --tags --always --dirty`. Pure: the git
 * state is passed in. Throws exit 2 when there is no version to be had or it is not a valid tag.
 */
export function resolveVersion(flag: string | undefined, git: GitState): string {
  const version = flag ?? git.describe
  if (version === undefined || version === '') {
    throw new TtaError(
      git.isRepo ? 'no version: `git describe` found no commit to name it after' : 'no version: the workspace is not a git repository',
      ExitCode.badInput,
      'pass --version V (e.g. --version 1.4.0)',
    )
  }
  const problem = versionProblem(version)
  if (problem) throw new TtaError(`version ${problem}`, ExitCode.badInput, flag ? 'pass a valid --version' : 'tag the commit with a valid name, or pass --version V')
  return version
}

/** Who deploys, for the history: the login name and this machine. */
export function deployer(): string {
  let user = process.env.USER ?? 'unknown'
  try {
    user = userInfo().username
  } catch {
    // No passwd entry (some containers): the environment's USER is the best we have.
  }
  return `${user}@${hostname()}`
}

/** Reads the workspace's git state; never throws (no git, no repository: isRepo false). */
export async function readGitState(root: string): Promise<GitState> {
  const {execa} = await import('execa')
  const git = (args: string[]) => execa('git', args, {cwd: root, reject: false, timeout: 10_000, verbose: execVerbose()})
  const inside = await git(['rev-parse', '--is-inside-work-tree']).catch(() => undefined)
  if (!inside || inside.exitCode !== 0 || inside.stdout.trim() !== 'true') return {isRepo: false, dirty: []}
  const [commit, describe, status] = await Promise.all([
    git(['rev-parse', 'HEAD']),
    git(['describe', '--tags', '--always', '--dirty']),
    git(['status', '--porcelain', '--untracked-files=normal', '--', '.']),
  ])
  return {
    isRepo: true,
    commit: commit.exitCode === 0 ? commit.stdout.trim() : undefined,
    describe: describe.exitCode === 0 ? describe.stdout.trim() : undefined,
    dirty: status.exitCode === 0 ? status.stdout.split('\n').filter((line) => line.trim() !== '').map((line) => line.slice(3)) : [],
  }
}
