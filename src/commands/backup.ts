import {Args, Flags} from '@oclif/core'
import chalk from 'chalk'

import {applyRetention} from '../backup/backup.js'
import {formatAge, MAX_AGE_HELP} from '../backup/duration.js'
import {backupListEntry, totalBytes} from '../backup/list.js'
import {backupSettings} from '../backup/settings.js'
import {BackupStore} from '../backup/store.js'
import {verifyBackup} from '../backup/verify.js'
import {TtaCommand} from '../cli/base-command.js'
import {interruptible, runBackup} from '../cli/backup-runner.js'
import {connectEngine} from '../docker/client.js'
import {ExitCode, TtaError} from '../errors.js'
import {backupProgress} from '../ui/backup-progress.js'
import {bytes, seconds, table} from '../ui/format.js'
import {writeJson} from '../ui/output.js'
import {projectNameFor} from '../workspace/project.js'
import {refuseInvalidServiceNames} from '../compose/project-name.js'

export default class Backup extends TtaCommand {
  static override summary = 'Back up the databases (postgres, redis, neo4j) and named volumes, with checksums and retention.'

  static override description =
    'Backs up every stateful service that is running (or the ones named): postgres with pg_dump -Fc per database, redis as an RDB ' +
    'snapshot, neo4j with neo4j-admin database dump (neo4j is stopped meanwhile), any other named volume as a tar. Files go to ' +
    '<workspace>/.tta/backups/<id>/ (mode 0600) with a manifest.json holding each file\'s sha256; an interrupted backup is never ' +
    'listed. Then retention removes backups older than --max-age (default 7d) or beyond --keep, never the newest complete one.'

  static override examples = [
    '<%= config.bin %> backup',
    '<%= config.bin %> backup postgres --keep 10',
    '<%= config.bin %> backup --list',
    '<%= config.bin %> backup --verify 20261121T224800Z',
  ]

  static override strict = false

  static override args = {service: Args.string({description: 'services to back up; default every stateful one that runs'})}

  static override flags = {
    dir: Flags.string({description: 'backup directory (default: tta.config.yaml backup.dir, else <workspace>/.tta/backups)'}),
    keep: Flags.integer({description: 'keep at most N backups of this project (default: backup.keep, else no count limit)', min: 1}),
    'max-age': Flags.string({description: `remove backups older than this: ${MAX_AGE_HELP} (default: backup.maxAge, else 7d)`}),
    list: Flags.boolean({description: 'list the backups (id, services, size, age, verified) and stop', exclusive: ['verify']}),
    verify: Flags.string({description: 'check a backup: every sha256, then a load into a throwaway container', helpValue: 'ID'}),
    json: Flags.boolean({description: 'print JSON: the manifest (with its id), the list, or the verification'}),
    timeout: Flags.integer({description: 'seconds to wait for a service to be ready again (neo4j after its dump)', default: 300, min: 1}),
  }

  async run(): Promise<void> {
    const {flags, argv} = await this.parse(Backup)
    const services = argv as string[]
    refuseInvalidServiceNames(services)
    const workspace = this.openWorkspace(flags)
    const project = projectNameFor({projectName: flags['project-name'], workspace})
    const settings = backupSettings(workspace, flags)
    const store = new BackupStore(settings.dir, {workspaceRoot: workspace.root})
    if (flags.list) return this.list(store, project, flags.json)
    if (flags.verify) return this.verify(store, project, flags.verify, flags.json, flags.timeout)

    const conn = await connectEngine()
    const t0 = Date.now()
    const result = await runBackup({conn, project, store, services, reason: 'manual', ttaVersion: this.config.version, readyTimeoutMs: flags.timeout * 1000})
    const {manifest} = result
    const retention = manifest.complete ? applyRetention(store, project, settings.policy) : undefined
    if (flags.json) {
      writeJson(manifest)
    } else {
      const rows = Object.entries(manifest.services).map(([service, entry]) => [service, entry.strategy, entry.files.map((f) => f.file).join(' '), bytes(entry.bytes)])
      const total = Object.values(manifest.services).reduce((sum, e) => sum + e.bytes, 0)
      process.stdout.write(`${table(['SERVICE', 'STRATEGY', 'FILES', 'SIZE'], rows)}\n\n`)
      process.stdout.write(`${manifest.complete ? chalk.green('✔') : chalk.yellow('!')} backup ${chalk.bold(manifest.id)}: ${bytes(total)} in ${seconds(Date.now() - t0)} → ${result.dir}\n`)
      for (const removed of retention?.removed ?? []) process.stdout.write(chalk.dim(`  removed backup ${removed.id} (${removed.reason})\n`))
      for (const id of retention?.abandoned ?? []) process.stdout.write(chalk.dim(`  removed unfinished backup ${id} (interrupted earlier)\n`))
    }
    if (!manifest.complete) {
      throw new TtaError(
        `backup ${manifest.id} is partial: ${manifest.failed.map((f) => `${f.service}: ${f.error}`).join('; ')}`,
        ExitCode.failed,
        'the services listed above were backed up; retention was skipped so no older backup was removed',
      )
    }
  }

  private list(store: BackupStore, project: string, json: boolean): void {
    const backups = store.list(project).reverse()
    if (json) {
      writeJson(backups.map((b) => backupListEntry(b)))
      return
    }
    if (backups.length === 0) {
      process.stdout.write(`no backups of project ${project} in ${store.root}\n`)
      return
    }
    const rows = backups.map((b) => {
      const m = b.manifest
      if (!m) return [b.id, chalk.red('unreadable manifest'), '', '', '', (b.problems ?? []).slice(0, 1).join('')]
      const verified = b.verify ? (b.verify.ok ? chalk.green(`yes ${formatAge(Date.now() - Date.parse(b.verify.at))} ago`) : chalk.red('FAILED')) : 'no'
      const note = [m.complete ? '' : chalk.yellow(`partial (${m.failed.map((f) => f.service).join(', ')} failed)`), m.reason === 'manual' ? '' : m.label ? `${m.label}: ${m.reason}` : m.reason].filter(Boolean).join('; ')
      return [b.id, Object.keys(m.services).join(','), bytes(totalBytes(m)), formatAge(Date.now() - Date.parse(m.started)), verified, note]
    })
    process.stdout.write(`${table(['ID', 'SERVICES', 'SIZE', 'AGE', 'VERIFIED', 'NOTE'], rows)}\n`)
  }

  private async verify(store: BackupStore, project: string, id: string, json: boolean, timeout: number): Promise<void> {
    const stored = store.get(id, project)
    const conn = await connectEngine()
    const progress = backupProgress({verb: 'verifying'})
    let result
    try {
      result = await interruptible(
        (signal) => verifyBackup({conn, store, backup: stored, readyTimeoutMs: timeout * 1000, emit: (e) => progress.emit(e), signal}),
        'interrupted: verification stopped; the backup is unchanged',
      )
    } finally {
      progress.finish()
    }
    if (json) writeJson({id: stored.id, ...result})
    if (!result.ok) {
      throw new TtaError(`backup ${stored.id} did not verify: ${[...result.checksums, ...result.services.filter((s) => !s.ok).map((s) => `${s.service}: ${s.detail}`)].join('; ')}`, ExitCode.failed)
    }
    if (!json) process.stdout.write(`${chalk.green('✔')} backup ${stored.id} verified: checksums match and every service loads\n`)
  }
}
