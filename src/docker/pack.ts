import {createReadStream} from 'node:fs'
import {stat} from 'node:fs/promises'
import {join} from 'node:path'
import type {Readable} from 'node:stream'

import {pack} from 'tar-stream'

/**
 * A build context as the engine's build endpoint takes it: a tar stream of `files` (paths relative
 * to `dir`), each with its mode and mtime, read one after another as the engine consumes them (a
 * large context never sits in memory). tar-stream writes the headers (ustar, pax for long names).
 */
export function packDirectory(dir: string, files: readonly string[]): Readable {
  const archive = pack()
  const addAll = async (): Promise<void> => {
    for (const name of files) {
      const path = join(dir, name)
      const info = await stat(path)
      await new Promise<void>((resolve, reject) => {
        const entry = archive.entry({name: name.split('\\').join('/'), size: info.size, mode: info.mode & 0o7777, mtime: info.mtime}, (error) => (error ? reject(error) : resolve()))
        const source = createReadStream(path)
        source.once('error', reject)
        source.pipe(entry)
      })
    }
    archive.finalize()
  }
  addAll().catch((error: Error) => archive.destroy(error))
  return archive as unknown as Readable
}
