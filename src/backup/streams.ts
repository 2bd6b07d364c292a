import {createHash} from 'node:crypto'
import {createReadStream} from 'node:fs'
import {Transform, Writable, type Duplex, type Readable, type TransformCallback} from 'node:stream'
import {pipeline} from 'node:stream/promises'

import type {ContainerCreate, EnginePort, MountSettings} from '../docker/port.js'
import {Label, projectFilter} from '../engine/labels.js'

/**
 * Docker's multiplexed attach/exec stream (8-byte frame header: stream type, 3 zero bytes,
 * big-endian length) as a Transform: stdout payloads flow on, without copying, so a dump streams
 * to its file with backpressure; stderr is kept (its last 64 kB) for error messages.
 */
export class DockerDemux extends Transform {
  private header = Buffer.alloc(8)
  private headerFill = 0
  private left = 0
  private kind = 1
  private errChunks: Buffer[] = []
  private errBytes = 0

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    let offset = 0
    while (offset < chunk.length) {
      if (this.left === 0) {
        const take = Math.min(8 - this.headerFill, chunk.length - offset)
        chunk.copy(this.header, this.headerFill, offset, offset + take)
        this.headerFill += take
        offset += take
        if (this.headerFill < 8) break
        this.headerFill = 0
        this.kind = this.header[0] ?? 1
        this.left = this.header.readUInt32BE(4)
        continue
      }
      const take = Math.min(this.left, chunk.length - offset)
      const payload = chunk.subarray(offset, offset + take)
      if (this.kind === 2) this.keepStderr(payload)
      else if (this.kind === 1) this.push(payload)
      this.left -= take
      offset += take
    }
    callback()
  }

  private keepStderr(payload: Buffer): void {
    this.errChunks.push(Buffer.from(payload))
    this.errBytes += payload.length
    while (this.errBytes > 65_536 && this.errChunks.length > 1) this.errBytes -= this.errChunks.shift()?.length ?? 0
  }

  get stderr(): string {
    return Buffer.concat(this.errChunks).toString('utf8')
  }
}

/** Passes bytes through while hashing (sha256) and counting them. */
export class HashCounter extends Transform {
  private hash = createHash('sha256')
  bytes = 0

  constructor(private readonly onBytes?: (total: number) => void) {
    super()
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk)
    this.bytes += chunk.length
    this.onBytes?.(this.bytes)
    callback(null, chunk)
  }

  digest(): string {
    return this.hash.digest('hex')
  }
}

/**
 * Counts the entries of a tar stream passing through (pax/GNU long-name records are not
 * entries) and notices the end-of-archive marker, so a truncated tar is caught at backup time.
 */
export class TarCounter extends Transform {
  entries = 0
  ended = false
  private block = Buffer.alloc(512)
  private fill = 0
  private skip = 0
  private zeroBlocks = 0

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.scan(chunk)
    callback(null, chunk)
  }

  private scan(chunk: Buffer): void {
    let offset = 0
    while (offset < chunk.length && !this.ended) {
      if (this.skip > 0) {
        const take = Math.min(this.skip, chunk.length - offset)
        this.skip -= take
        offset += take
        continue
      }
      const take = Math.min(512 - this.fill, chunk.length - offset)
      chunk.copy(this.block, this.fill, offset, offset + take)
      this.fill += take
      offset += take
      if (this.fill < 512) break
      this.fill = 0
      if (this.block.every((b) => b === 0)) {
        if (++this.zeroBlocks >= 2) this.ended = true
        continue
      }
      this.zeroBlocks = 0
      const size = tarSize(this.block)
      const type = String.fromCharCode(this.block[156] ?? 0)
      if (!['L', 'K', 'x', 'g'].includes(type)) this.entries++
      this.skip = Math.ceil(size / 512) * 512
    }
  }
}

/** The size field of a tar header: octal text, or base-256 for large files. */
export function tarSize(header: Buffer): number {
  const field = header.subarray(124, 136)
  if (((field[0] ?? 0) & 0x80) !== 0) {
    let value = 0
    for (let i = 1; i < field.length; i++) value = value * 256 + (field[i] ?? 0)
    return value
  }
  const text = field.toString('latin1').replace(/\0.*$/s, '').trim()
  return text === '' ? 0 : parseInt(text, 8)
}

/** sha256 and size of a file, streamed. */
export async function hashFile(path: string, onBytes?: (total: number) => void, signal?: AbortSignal): Promise<{sha256: string; bytes: number}> {
  const counter = new HashCounter(onBytes)
  await pipeline(createReadStream(path, {highWaterMark: 1 << 20}), counter, new Writable({write: (_c, _e, cb) => cb()}), {signal})
  return {sha256: counter.digest(), bytes: counter.bytes}
}

/** A Writable keeping up to `limit` bytes, for small command outputs. */
export class Collector extends Writable {
  private chunks: Buffer[] = []
  private size = 0

  constructor(private readonly limit = 4 << 20) {
    super()
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.size < this.limit) {
      this.chunks.push(Buffer.from(chunk))
      this.size += chunk.length
    }
    callback()
  }

  get text(): string {
    return Buffer.concat(this.chunks).toString('utf8')
  }
}

export interface StreamIo {
  /** Piped into the process's stdin, which is closed at its end. */
  stdin?: Readable
  /** Receives the process's stdout (default: collected, returned as `stdout`). */
  stdout?: Writable
  signal?: AbortSignal
}

export interface StreamResult {
  exitCode: number | null
  stdout: string
  stderr: string
}

export class InterruptedError extends Error {
  constructor() {
    super('interrupted')
    this.name = 'InterruptedError'
  }
}

const BROKEN_PIPE = new Set(['EPIPE', 'ECONNRESET', 'ERR_STREAM_WRITE_AFTER_END', 'ERR_STREAM_DESTROYED', 'ERR_STREAM_PREMATURE_CLOSE'])

/**
 * Moves bytes through a hijacked attach/exec connection: `stdin` in (then a half-close, which
 * closes the process's stdin), stdout demuxed into `stdout`, stderr collected. Resolves when the
 * process closes its side. A process that exits before reading all of stdin is not an error
 * here: the caller looks at the exit code.
 */
async function pump(socket: Duplex, io: StreamIo): Promise<{stdout: string; stderr: string}> {
  const demux = new DockerDemux()
  const collector = io.stdout ? undefined : new Collector()
  const sink = io.stdout ?? (collector as Collector)
  const onAbort = (): void => {
    socket.destroy(new InterruptedError())
  }
  if (io.signal?.aborted) onAbort()
  io.signal?.addEventListener('abort', onAbort, {once: true})
  let stdinError: Error | undefined
  if (io.stdin) {
    const stdin = io.stdin
    stdin.on('error', (error) => {
      stdinError = error
      socket.destroy(error)
    })
    stdin.pipe(socket)
    socket.on('error', () => stdin.destroy())
  }
  try {
    await pipeline(socket, demux, sink)
  } catch (error) {
    if (io.signal?.aborted) throw new InterruptedError()
    if (stdinError) throw stdinError
    const code = (error as {code?: string}).code
    if (!code || !BROKEN_PIPE.has(code)) throw error
  } finally {
    io.signal?.removeEventListener('abort', onAbort)
  }
  if (io.signal?.aborted) throw new InterruptedError()
  return {stdout: collector?.text ?? '', stderr: demux.stderr}
}

export interface ExecOptions extends StreamIo {
  env?: string[]
  user?: string
  /**
   * Stop the command when tta goes away (Ctrl-C, a kill): the engine does not stop an exec'd
   * process whose client left, so a long pg_dump would run on, holding its locks. A small sh
   * wrapper keeps stdin open and kills the command when stdin closes; the image needs sh.
   */
  stopWithClient?: boolean
}

// The watcher must not hold the exec's stdout/stderr open, or the stream outlives the command.
const WATCHDOG = 'exec 3<&0; "$@" & pid=$!; (cat <&3; kill $pid) >/dev/null 2>&1 & wait $pid'

/** Runs a command in a running container, streaming its stdin/stdout; bounded only by the command itself. */
export async function execStream(engine: Pick<EnginePort, 'exec'>, containerId: string, cmd: string[], options: ExecOptions = {}): Promise<StreamResult> {
  const watchdog = Boolean(options.stopWithClient) && !options.stdin
  const execId = await engine.exec.create(containerId, {
    Cmd: watchdog ? ['sh', '-c', WATCHDOG, 'sh', ...cmd] : cmd,
    AttachStdin: Boolean(options.stdin) || watchdog,
    Env: options.env,
    User: options.user,
  })
  const socket = await engine.exec.start(execId, {stdin: Boolean(options.stdin) || watchdog})
  let output: {stdout: string; stderr: string}
  try {
    output = await pump(socket, options)
  } finally {
    // Closing stdin lets the watchdog's reader finish.
    if (watchdog) socket.end()
  }
  const {stdout, stderr} = output
  // The stream can end a moment before the engine records the exit code.
  for (let i = 0; i < 250; i++) {
    const info = await engine.exec.inspect(execId)
    if (!info.Running) return {exitCode: info.ExitCode ?? null, stdout, stderr}
    await new Promise((r) => setTimeout(r, 20))
  }
  return {exitCode: null, stdout, stderr}
}

/** Labels on tta's one-off containers: Compose's one-off convention, plus tta's purpose marker. */
export const ONEOFF_PURPOSE_LABEL = 'dev.tta.backup'

export interface OneOffSpec {
  project: string
  service: string
  purpose: string
  image: string
  /** Default: the image's CMD. */
  cmd?: string[]
  /** Overrides the image's entrypoint; [] means none. */
  entrypoint?: string[]
  env?: string[]
  user?: string
  /** Mount the same volumes as this container, at the same paths. */
  volumesFrom?: string
  mounts?: MountSettings[]
  /** Remove anonymous volumes with the container (throwaway servers). */
  removeVolumes?: boolean
}

function oneOffOptions(spec: OneOffSpec, attachStdin: boolean): ContainerCreate {
  const suffix = Math.random().toString(16).slice(2, 8)
  return {
    name: `${spec.project}-${spec.service}-${spec.purpose}-${suffix}`,
    Image: spec.image,
    Cmd: spec.cmd,
    Entrypoint: spec.entrypoint,
    Env: spec.env,
    User: spec.user,
    Tty: false,
    AttachStdin: attachStdin,
    AttachStdout: true,
    AttachStderr: true,
    OpenStdin: attachStdin,
    StdinOnce: attachStdin,
    Labels: {
      [Label.project]: spec.project,
      [Label.service]: spec.service,
      [Label.oneoff]: 'True',
      [Label.managedBy]: 'tta',
      [ONEOFF_PURPOSE_LABEL]: spec.purpose,
    },
    // No network: these containers only read and write volumes and pipes.
    HostConfig: {NetworkMode: 'none', VolumesFrom: spec.volumesFrom ? [spec.volumesFrom] : undefined, Mounts: spec.mounts},
  }
}

/**
 * Runs a one-off container to completion with streamed stdin/stdout (attached before it starts,
 * so no byte is lost), then removes it.
 */
export async function runOneOff(engine: Pick<EnginePort, 'containers'>, spec: OneOffSpec, io: StreamIo = {}): Promise<StreamResult> {
  const containerId = await engine.containers.create(oneOffOptions(spec, Boolean(io.stdin)))
  try {
    const socket = await engine.containers.attach(containerId, {stdin: Boolean(io.stdin)})
    await engine.containers.start(containerId)
    const {stdout, stderr} = await pump(socket, io)
    const exitCode = await engine.containers.wait(containerId)
    return {exitCode, stdout, stderr}
  } finally {
    await engine.containers.remove(containerId, {force: true, volumes: spec.removeVolumes ?? false}).catch(() => undefined)
  }
}

/** Starts a long-running one-off (a throwaway server for `--verify`); its container id. The caller removes it. */
export async function startThrowaway(engine: Pick<EnginePort, 'containers'>, spec: OneOffSpec): Promise<string> {
  const containerId = await engine.containers.create(oneOffOptions(spec, false))
  try {
    await engine.containers.start(containerId)
  } catch (error) {
    await engine.containers.remove(containerId, {force: true, volumes: true}).catch(() => undefined)
    throw error
  }
  return containerId
}

/** Removes one-offs an earlier, killed tta left behind (exited or never started); running ones may be another tta's. */
export async function sweepOneOffs(engine: Pick<EnginePort, 'containers'>, project: string): Promise<number> {
  const list = await engine.containers.list({all: true, filters: projectFilter(project, [ONEOFF_PURPOSE_LABEL])})
  const stale = list.filter((c) => c.State === 'exited' || c.State === 'created' || c.State === 'dead')
  // Only throwaway servers own their (anonymous) volumes; the others borrow a service's.
  await Promise.all(stale.map((c) => engine.containers.remove(c.Id, {force: true, volumes: c.Labels[ONEOFF_PURPOSE_LABEL] === 'verify'}).catch(() => undefined)))
  return stale.length
}

/** The last line(s) of a tool's stderr, for an error message. */
export function lastLines(text: string, count = 3): string {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(-count)
    .join(' | ')
}
