import {posix} from 'node:path'
import {pipeline} from 'node:stream/promises'

import {safeComponent, type BackupFile, type ServiceBackup} from '../manifest.js'
import {runOneOff, TarCounter} from '../streams.js'
import {startAndWait, stopContainer} from '../targets.js'
import {captureToFile, expectSuccess} from './common.js'
import {CheckFailed, StrategyError, type BackupOutcome, type Strategy} from './types.js'

/**
 * Any named volume, as a tar: read through the engine's archive API from the service's own
 * container (no tools needed in its image), with the container paused meanwhile so files are
 * not caught half-written. Restore empties the volume and unpacks the tar in a one-off
 * container of the service's image, the service stopped; checked by the number of entries.
 */

const RESTORE_ROOT = '/tta-restore'

const UNPACK = `set -eu
cd "$TTA_ROOT/$TTA_BASE"
for f in * .[!.]* ..?*; do
  if [ -e "$f" ] || [ -L "$f" ]; then rm -rf -- "$f"; fi
done
cd "$TTA_ROOT"
tar -xpf -
find "$TTA_BASE" | wc -l
`

const EXTRACT = `set -eu
d=$(mktemp -d)
tar -C "$d" -xf -
find "$d" -mindepth 1 | wc -l
`

/** Entries counted while unpacking (the service may add files once it runs), for check(). */
const unpacked = new Map<string, number>()

function entriesOf(result: {stdout: string}): number {
  return Number(result.stdout.trim().split('\n').pop() ?? NaN)
}

function checkEntries(file: BackupFile, found: number): string {
  if (file.entries !== undefined && found !== file.entries) throw new CheckFailed(`${file.volume ?? file.mount}: ${found} entries, the backup had ${file.entries}`)
  return `${file.mount}: ${found} entries`
}

export const volumeStrategy: Strategy = {
  name: 'volume',

  async backup(ctx): Promise<BackupOutcome> {
    const {engine, target} = ctx
    if (target.volumes.length === 0) throw new StrategyError('no named volumes')
    const pause = target.state === 'running'
    if (pause) {
      ctx.note(`pausing ${target.service} while its volumes are copied`)
      await engine.containers.pause(target.id)
    }
    try {
      const files: BackupFile[] = []
      for (const volume of target.volumes) {
        const name = ctx.fileName(`${target.service}.${safeComponent(volume.key)}.tar`)
        const counter = new TarCounter()
        const captured = await captureToFile(
          ctx,
          name,
          `reading ${volume.destination}`,
          async (stdout) => {
            const archive = await engine.archive.get(target.id, volume.destination)
            await pipeline(archive, stdout, {signal: ctx.signal})
            return {exitCode: 0, stdout: '', stderr: ''}
          },
          {through: counter, validate: () => (counter.ended ? undefined : `the archive of ${volume.destination} ended early`)},
        )
        files.push({file: captured.file, bytes: captured.bytes, sha256: captured.sha256, volume: volume.name, mount: volume.destination, entries: counter.entries})
      }
      return {serverVersion: null, files}
    } finally {
      if (pause) await engine.containers.unpause(target.id).catch(() => undefined)
    }
  },

  async restore(ctx, entry: ServiceBackup): Promise<void> {
    const wanted = entry.files.map((file) => ({file, volume: ctx.target.volumes.find((v) => v.destination === file.mount)}))
    const unmatched = wanted.filter((w) => !w.volume).map((w) => w.file.mount)
    if (unmatched.length > 0) throw new StrategyError(`${ctx.target.service} has no named volume at ${unmatched.join(', ')} any more`)
    ctx.note(`stopping ${ctx.target.service}`)
    await stopContainer(ctx.engine, ctx.target.id)
    for (const {file, volume} of wanted) {
      const base = posix.basename(file.mount ?? '') || 'root'
      ctx.note(`unpacking ${file.file} into ${volume?.name}`)
      const result = await runOneOff(
        ctx.engine,
        {
          project: ctx.project,
          service: ctx.target.service,
          purpose: 'restore',
          image: ctx.target.image,
          entrypoint: ['sh', '-c', UNPACK],
          cmd: [],
          user: '0',
          env: [`TTA_ROOT=${RESTORE_ROOT}`, `TTA_BASE=${base}`],
          mounts: [{Type: 'volume', Source: volume?.name ?? '', Target: `${RESTORE_ROOT}/${base}`}],
        },
        {stdin: ctx.open(file), signal: ctx.signal},
      )
      expectSuccess(result, `unpacking ${file.file} (the image ${ctx.target.image} needs sh and tar)`)
      unpacked.set(`${ctx.target.id}/${file.file}`, entriesOf(result))
    }
    ctx.note(`starting ${ctx.target.service}`)
    await startAndWait(ctx.engine, ctx.target, ctx.readyTimeoutMs, ctx.signal)
  },

  async check(ctx, entry): Promise<string> {
    const results = entry.files.map((f) => checkEntries(f, unpacked.get(`${ctx.target.id}/${f.file}`) ?? NaN))
    return `${results.join('; ')}; ${ctx.target.service} ready`
  },

  async verify(ctx, entry): Promise<string> {
    const results: string[] = []
    for (const file of entry.files) {
      const result = await runOneOff(
        ctx.engine,
        {project: ctx.project, service: ctx.target.service, purpose: 'verify', image: entry.image, entrypoint: ['sh', '-c', EXTRACT], cmd: [], user: '0', removeVolumes: true},
        {stdin: ctx.open(file), signal: ctx.signal},
      )
      expectSuccess(result, `unpacking ${file.file} in a throwaway ${entry.image}`)
      results.push(checkEntries(file, entriesOf(result)))
    }
    return `unpacked in a throwaway ${entry.image}: ${results.join('; ')}`
  },
}
