/**
 * Collects keys (changed paths) and hands them over as one batch once nothing new arrived for
 * `quietMs`, or at the latest `maxWaitMs` after the first one: a save that writes many files (a
 * formatter, a git checkout) becomes one sync, and a stream of writes cannot postpone it forever.
 */
export class Debouncer<T> {
  private pending = new Map<string, T>()
  private quietTimer: NodeJS.Timeout | undefined
  private maxTimer: NodeJS.Timeout | undefined

  constructor(
    private readonly onBatch: (batch: T[]) => void,
    private readonly quietMs = 50,
    private readonly maxWaitMs = 1000,
  ) {}

  /** Adds or replaces the entry for `key` (the latest value wins). */
  add(key: string, value: T): void {
    this.pending.delete(key)
    this.pending.set(key, value)
    clearTimeout(this.quietTimer)
    this.quietTimer = setTimeout(() => this.flush(), this.quietMs)
    this.maxTimer ??= setTimeout(() => this.flush(), this.maxWaitMs)
  }

  get size(): number {
    return this.pending.size
  }

  flush(): void {
    clearTimeout(this.quietTimer)
    clearTimeout(this.maxTimer)
    this.quietTimer = undefined
    this.maxTimer = undefined
    if (this.pending.size === 0) return
    const batch = [...this.pending.values()]
    this.pending = new Map()
    this.onBatch(batch)
  }

  /** Drops what is pending without handing it over. */
  cancel(): void {
    clearTimeout(this.quietTimer)
    clearTimeout(this.maxTimer)
    this.quietTimer = undefined
    this.maxTimer = undefined
    this.pending.clear()
  }
}
