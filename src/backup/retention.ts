/**
 * Which backups retention removes. Pure: the clock is passed in, so tests run on fake time.
 *
 * A backup goes when it is older than `maxAgeMs` or falls beyond the newest `keep` backups;
 * both limits apply when both are set. The newest complete backup is never removed, whatever
 * its age: retention must not leave a project with nothing to restore.
 */
export interface RetentionCandidate {
  id: string
  /** When the backup started (ms since the epoch). */
  createdMs: number
  /** Every service it meant to back up succeeded. */
  complete: boolean
}

export interface RetentionPolicy {
  /** Keep at most this many backups (newest first); undefined = no count limit. */
  keep?: number
  /** Remove backups older than this; null/undefined = no age limit. */
  maxAgeMs?: number | null
}

export interface RetentionPlan<T extends RetentionCandidate> {
  keep: T[]
  remove: Array<{backup: T; reason: string}>
}

export type Clock = () => number

export function planRetention<T extends RetentionCandidate>(backups: readonly T[], policy: RetentionPolicy, clock: Clock): RetentionPlan<T> {
  const now = clock()
  const newestFirst = [...backups].sort((a, b) => b.createdMs - a.createdMs || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
  const protectedId = newestFirst.find((b) => b.complete)?.id
  const plan: RetentionPlan<T> = {keep: [], remove: []}
  newestFirst.forEach((backup, index) => {
    const reasons: string[] = []
    if (policy.keep !== undefined && index >= policy.keep) reasons.push(`beyond the newest ${policy.keep}`)
    // A timestamp in the future (clock skew) is not old.
    if (policy.maxAgeMs !== undefined && policy.maxAgeMs !== null && now - backup.createdMs > policy.maxAgeMs) {
      reasons.push(`older than ${describeMs(policy.maxAgeMs)}`)
    }
    if (reasons.length === 0 || backup.id === protectedId) plan.keep.push(backup)
    else plan.remove.push({backup, reason: reasons.join(', ')})
  })
  return plan
}

function describeMs(ms: number): string {
  for (const [unit, size] of [['w', 604_800_000], ['d', 86_400_000], ['h', 3_600_000], ['m', 60_000]] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`
  }
  return `${Math.round(ms / 1000)}s`
}
