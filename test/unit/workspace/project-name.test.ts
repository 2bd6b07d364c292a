import {mkdirSync, mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {checkoutProjectName, linkedWorktree, projectNameFor, worktreeProjectName} from '../../../src/workspace/project-name.js'
import type {Workspace} from '../../../src/workspace/root.js'

/** A main checkout at <tmp>/main and a linked worktree at <tmp>/<name>, laid out as git does. */
function checkouts(name: string): {main: string; linked: string} {
  const base = mkdtempSync(join(tmpdir(), 'tta-pn-'))
  const main = join(base, 'main')
  const linked = join(base, name)
  const admin = join(main, '.git', 'worktrees', 'wt1')
  mkdirSync(admin, {recursive: true})
  writeFileSync(join(admin, 'commondir'), '../..\n')
  mkdirSync(join(linked, 'sub'), {recursive: true})
  writeFileSync(join(linked, '.git'), `gitdir: ${admin}\n`)
  return {main, linked}
}

const workspace = (root: string, projectName?: string): Workspace => ({root, foundBy: 'cwd', config: {images: {}, composeFiles: [], ...(projectName ? {projectName} : {})}, envFile: join(root, '.env')}) as Workspace

describe('project name per checkout', () => {
  it('is tta in the main checkout and tta-<dir> in a linked worktree (also from a subdirectory)', () => {
    const {main, linked} = checkouts('Feature.Login')
    expect(checkoutProjectName(main)).toBe('tta')
    expect(checkoutProjectName(linked)).toBe('tta-feature-login')
    expect(linkedWorktree(join(linked, 'sub'))).toBe(linked)
    expect(projectNameFor({workspace: workspace(join(linked, 'sub'))})).toBe('tta-feature-login')
  })

  it('lets --project-name, then tta.config.yaml projectName, win', () => {
    const {linked} = checkouts('wt')
    expect(projectNameFor({workspace: workspace(linked), projectName: 'mine'})).toBe('mine')
    expect(projectNameFor({workspace: workspace(linked, 'fromconfig')})).toBe('fromconfig')
  })

  it('treats a submodule (a .git file without commondir) and no git as the main checkout', () => {
    const base = mkdtempSync(join(tmpdir(), 'tta-pn-'))
    mkdirSync(join(base, 'modules', 'x'), {recursive: true})
    mkdirSync(join(base, 'sub'))
    writeFileSync(join(base, 'sub', '.git'), 'gitdir: ../modules/x\n')
    expect(linkedWorktree(join(base, 'sub'))).toBeUndefined()
    expect(checkoutProjectName(join(base, 'sub'))).toBe('tta')
  })

  it('sanitises the directory name the way Compose requires', () => {
    expect(worktreeProjectName('My Branch!!')).toBe('tta-my-branch')
    expect(worktreeProjectName('__x__')).toBe('tta-x')
    expect(worktreeProjectName('...')).toBe('tta')
  })
})
