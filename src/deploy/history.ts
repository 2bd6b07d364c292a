import {randomUUID} from 'node:crypto'
import {existsSync, readFileSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {ExitCode, TtaError} from '../errors.js'
import type {DeployType} from '../workspace/deploy-config.js'
import {stateDir} from '../workspace/state-dir.js'

/** One deployment or rollback, as kept in the workspace and on the target. */
export interface DeployRecord {
  id: string
  env: string
  type: DeployType
  /** The target engine (DOCKER_HOST form). */
  host: string
  project: string
  action: 'deploy' | 'rollback'
  version: string
  /** The version running before this one started, when known. */
  previousVersion?: string
  /** The version running when this one ended; absent when the target was left in an unknown state. */
  activeVersion?: string
  /**
   * succeeded; rolled-back: failed, and the previous version is running again; failed: not even
   * that; interrupted: stopped part-way by Ctrl-C (SIGINT/SIGTERM) during the rollout, the target
   * finishing what it had been told (see docs/deploy.md).
   */
  result: 'succeeded' | 'rolled-back' | 'failed' | 'interrupted'
  startedAt: string
  finishedAt: string
  by: string
  commit?: string
  dirty?: boolean
  /** service -> image deployed (registry reference), what a rollback to this version runs again. */
  images: Record<string, string>
  /** Services this deployment created, recreated or updated. */
  changed: string[]
  /** Swarm: services removed because the compose files no longer have them. */
  removed?: string[]
  error?: string
}

export const HISTORY_FILE = join('.tta', 'deploy-history.json')
/** The target keeps the newest records only: labels are small, the workspace file is the archive. */
export const TARGET_HISTORY_LIMIT = 50

interface HistoryFile {
  version: 1
  deployments: DeployRecord[]
}

/** Every record in `<workspace>/.tta/deploy-history.json`, oldest first; none when the file is absent. */
export function readHistory(root: string): DeployRecord[] {
  const file = join(root, HISTORY_FILE)
  if (!existsSync(file)) return []
  let parsed: unknown
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'))
  } catch (error) {
    throw new TtaError(`${file}: not valid JSON (${(error as Error).message})`, ExitCode.badInput, 'fix or move the file away; tta rebuilds it from the target on the next deploy')
  }
  const deployments = (parsed as Partial<HistoryFile>)?.deployments
  if (!Array.isArray(deployments)) throw new TtaError(`${file}: expected {"version": 1, "deployments": [...]}`, ExitCode.badInput, 'fix or move the file away')
  return sortRecords(deployments.filter(isRecord))
}

/**
 * Adds (or replaces, by id) a record. Written to a temporary file and renamed, so an interrupted
 * write never leaves half a file; `.tta/` ignores itself in git, so the history never makes the
 * tree dirty.
 */
export function saveRecord(root: string, record: DeployRecord): void {
  stateDir(root)
  const file = join(root, HISTORY_FILE)
  const records = mergeHistory(readHistory(root), [record])
  const body: HistoryFile = {version: 1, deployments: records}
  // A temporary name no other run (a concurrent deploy) can share, created exclusively ('wx': never
  // through a file or symlink already there), then an atomic rename over the history.
  const tmp = `${file}.${process.pid}.${randomUUID()}.tmp`
  try {
    writeFileSync(tmp, JSON.stringify(body, null, 2) + '\n', {flag: 'wx', mode: 0o600})
    renameSync(tmp, file)
  } catch (error) {
    rmSync(tmp, {force: true})
    throw error
  }
}

export function isRecord(value: unknown): value is DeployRecord {
  const r = value as Partial<DeployRecord> | null
  return Boolean(r && typeof r.id === 'string' && typeof r.env === 'string' && typeof r.version === 'string' && typeof r.startedAt === 'string' && typeof r.result === 'string')
}

function sortRecords(records: DeployRecord[]): DeployRecord[] {
  return [...records].sort((a, b) => (a.startedAt < b.startedAt ? -1 : a.startedAt > b.startedAt ? 1 : a.id < b.id ? -1 : 1))
}

/** Union of two histories (the workspace's and the target's), by id, oldest first; the later copy of a record wins. */
export function mergeHistory(...sources: DeployRecord[][]): DeployRecord[] {
  const byId = new Map<string, DeployRecord>()
  for (const source of sources) for (const record of source) byId.set(record.id, record)
  return sortRecords([...byId.values()])
}

/** The version running on a target after its last recorded deployment, if known. */
export function activeVersion(records: DeployRecord[], env: string): string | undefined {
  const mine = records.filter((r) => r.env === env)
  return mine[mine.length - 1]?.activeVersion
}

export interface RollbackChoice {
  version: string
  images: Record<string, string>
  /** The record the images come from. */
  from: DeployRecord
}

/**
 * What `--rollback` returns to: the named version, else the version that ran before the current
 * one (so two rollbacks in a row go back and forth, like `helm rollback`). Only versions that
 * once deployed successfully qualify, because their images are known to work. Pure.
 */
export function rollbackChoice(records: DeployRecord[], env: string, wanted?: string): RollbackChoice | {problem: string} {
  const mine = records.filter((r) => r.env === env)
  const succeeded = (version: string): DeployRecord | undefined => [...mine].reverse().find((r) => r.result === 'succeeded' && r.version === version)
  if (wanted !== undefined) {
    const from = succeeded(wanted)
    if (!from) return {problem: `version ${wanted} never deployed successfully to ${env}`}
    return {version: wanted, images: from.images, from}
  }
  if (mine.length === 0) return {problem: `no deployment of ${env} is recorded`}
  // An interrupted deployment left a mix: "back" is the version that ran before it started.
  const last = mine[mine.length - 1] as DeployRecord
  if (last.result === 'interrupted' && last.previousVersion !== undefined) {
    const from = succeeded(last.previousVersion)
    if (from) return {version: last.previousVersion, images: from.images, from}
  }
  // The sequence of versions the target ran, without repeats in a row.
  const ran: string[] = []
  for (const record of mine) {
    if (record.activeVersion !== undefined && ran[ran.length - 1] !== record.activeVersion) ran.push(record.activeVersion)
  }
  const current = ran[ran.length - 1]
  for (let i = ran.length - 2; i >= 0; i--) {
    const version = ran[i] as string
    if (version === current) continue
    const from = succeeded(version)
    if (from) return {version, images: from.images, from}
  }
  return {problem: current ? `${env} has run only ${current}: there is no earlier version to return to` : `no successful deployment of ${env} is recorded`}
}
