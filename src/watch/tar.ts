/**
 * The archive a sync uploads (PUT /containers/{id}/archive, extracted at `/`): one entry per file,
 * named by its path in the container, with the host file's mode and mtime. tar-stream writes the
 * headers (ustar + pax for long names), so no tar format is hand-written here.
 */
import {lstat, readdir, readFile, readlink} from 'node:fs/promises'
import {join} from 'node:path'

import {pack} from 'tar-stream'

import type {FileOp} from './rules.js'

export interface TarResult {
  archive: Buffer
  /** Files that vanished between the event and the read: the caller deletes them instead. */
  vanished: FileOp[]
  files: number
  bytes: number
}

/** Entry name for a container path: relative to `/`, the directory the archive is extracted at. */
export function entryName(containerPath: string): string {
  return containerPath.replace(/^\/+/, '')
}

/**
 * `keep` filters what a directory's walk adds (the rule's ignores): a directory that appears at once
 * (`cp -r`, `git checkout`) is sent whole, since its files' own events may have been coalesced.
 */
export async function buildTar(ops: readonly FileOp[], keep: (hostPath: string) => boolean = () => true): Promise<TarResult> {
  const archive = pack()
  const chunks: Buffer[] = []
  archive.on('data', (chunk: unknown) => chunks.push(chunk as Buffer))
  const done = new Promise<void>((resolve, reject) => {
    archive.on('end', () => resolve())
    archive.on('error', reject)
  })
  const vanished: FileOp[] = []
  let files = 0
  let bytes = 0
  const add = (header: Parameters<typeof archive.entry>[0], body?: Buffer): Promise<void> =>
    new Promise((resolve, reject) => {
      archive.entry(header, body ?? Buffer.alloc(0), (error) => (error ? reject(error) : resolve()))
    })
  const queue = [...ops]
  const added = new Set<string>()
  for (let i = 0; i < queue.length; i++) {
    const op = queue[i] as FileOp
    if (added.has(op.containerPath)) continue
    added.add(op.containerPath)
    const name = entryName(op.containerPath)
    let stat
    try {
      stat = await lstat(op.hostPath)
    } catch {
      vanished.push(op)
      continue
    }
    const common = {name, mode: stat.mode & 0o7777, mtime: stat.mtime, uid: 0, gid: 0}
    if (stat.isDirectory()) {
      await add({...common, type: 'directory'})
      const children = await readdir(op.hostPath).catch(() => [] as string[])
      for (const child of children) {
        const hostPath = join(op.hostPath, child)
        if (keep(hostPath)) queue.push({hostPath, containerPath: `${op.containerPath}/${child}`})
      }
    } else if (stat.isSymbolicLink()) {
      await add({...common, type: 'symlink', linkname: await readlink(op.hostPath)})
    } else if (stat.isFile()) {
      let body: Buffer
      try {
        body = await readFile(op.hostPath)
      } catch {
        vanished.push(op)
        continue
      }
      await add({...common, type: 'file', size: body.length}, body)
      files += 1
      bytes += body.length
    }
  }
  archive.finalize()
  await done
  return {archive: Buffer.concat(chunks), vanished, files, bytes}
}
