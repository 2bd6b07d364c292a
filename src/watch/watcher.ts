/**
 * Recursive file watching with Node's own fs.watch({recursive: true}) (inotify on Linux since Node
 * 20, FSEvents on macOS, ReadDirectoryChangesW on Windows): no dependency, and new directories are
 * followed. A rule whose path does not exist yet is watched from its nearest existing parent.
 */
import {existsSync, statSync, watch, type FSWatcher} from 'node:fs'
import {dirname, join, resolve} from 'node:path'

import type {Change} from './rules.js'
import {within} from './rules.js'

/** The fewest directories that cover every path (a missing one by its nearest existing parent). */
export function watchRoots(paths: readonly string[]): string[] {
  const dirs = paths.map((p) => {
    let dir = resolve(p)
    while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir)
    if (existsSync(dir) && !statSync(dir).isDirectory()) dir = dirname(dir)
    return dir
  })
  const unique = [...new Set(dirs)].sort((a, b) => a.length - b.length)
  return unique.filter((dir, i) => !unique.slice(0, i).some((other) => within(other, dir)))
}

export class TreeWatcher {
  private readonly watchers: FSWatcher[] = []

  constructor(
    roots: readonly string[],
    private readonly onChange: (change: Change) => void,
    private readonly onError: (error: Error) => void,
  ) {
    for (const root of roots) {
      const watcher = watch(root, {recursive: true}, (_event, filename) => {
        if (filename === null) return
        const path = join(root, filename.toString())
        this.onChange({path, exists: existsSync(path)})
      })
      watcher.on('error', (error) => this.onError(error))
      this.watchers.push(watcher)
    }
  }

  close(): void {
    for (const watcher of this.watchers) watcher.close()
  }
}
