import type {Readable} from 'node:stream'

import {jsonLines} from './json-lines.js'
import type {ProgressEvent} from './port.js'

/**
 * Reads a pull, push or build progress stream (JSON objects, one per line, maybe split across
 * chunks): each event to `onEvent`; resolves at the end, rejects at the first error event (the
 * engine answers 200 and reports a failed build or pull inside the stream).
 */
export function readProgress(stream: Readable, onEvent: (event: ProgressEvent) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let failed = false
    const lines = jsonLines<ProgressEvent>((event) => {
      if (failed) return
      const message = event.error ?? event.errorDetail?.message
      if (!message) return onEvent(event)
      failed = true
      stream.destroy()
      reject(new Error(message))
    })
    stream.on('data', (chunk: Buffer) => lines.push(chunk))
    stream.once('end', () => {
      lines.end()
      if (!failed) resolve()
    })
    stream.once('error', (error) => {
      if (!failed) reject(error)
    })
  })
}
