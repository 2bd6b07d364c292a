import {Args, Flags} from '@oclif/core'
import chalk from 'chalk'

import {TtaCommand} from '../cli/base-command.js'
import {listenForInterrupt} from '../cli/interrupt.js'
import type {DeployEvent, DeployStep} from '../deploy/events.js'
import {DeployFailedError, deployHistory, runDeploy} from '../deploy/deploy.js'
import {prepareDeploy, type PreparedDeploy} from '../deploy/prepare.js'
import type {DeployRecord} from '../deploy/history.js'
import {changedServices, formatDeployPlan} from '../deploy/plan.js'
import {ExitCode, TtaError} from '../errors.js'
import {confirm} from '../ui/confirm.js'
import {plainDeployProgress, ttyDeployProgress, type DeployProgress} from '../ui/deploy-progress.js'
import {seconds, table} from '../ui/format.js'
import {writeJson} from '../ui/output.js'

const RUN_STEPS: readonly DeployStep[] = ['build', 'push', 'backup', 'rollout', 'verify', 'cleanup', 'rollback', 'record']

export default class Deploy extends TtaCommand {
  static override summary = 'Build, push and roll out a version to a deploy target; verify health, roll back on failure.'

  static override description =
    'Targets are declared under `deploy:` in tta.config.yaml: `type: compose` (the engine\'s own convergence against ' +
    'a remote Docker host, e.g. host: ssh://deploy@staging) or `type: swarm` (a stack of swarm services with ' +
    'start-first updates that roll back by themselves). The version defaults to `git describe`. A failed rollout ' +
    'returns the target to the version it ran before and exits 1 naming what failed. Every deployment is recorded ' +
    'in <workspace>/.tta/deploy-history.json and on the target.'

  static override examples = [
    '<%= config.bin %> deploy staging',
    '<%= config.bin %> deploy production --version v1.4.0 -y',
    '<%= config.bin %> deploy production --dry-run',
    '<%= config.bin %> deploy production --rollback',
    '<%= config.bin %> deploy production --history',
  ]

  static override args = {
    env: Args.string({description: 'deploy target: a key of `deploy:` in tta.config.yaml (e.g. staging, production)', required: true}),
  }

  static override flags = {
    version: Flags.string({description: 'version to deploy (image tag; default: git describe --tags --always --dirty); with --rollback, the version to return to'}),
    'dry-run': Flags.boolean({description: 'print the plan (images, services that change, replicas) and change nothing'}),
    yes: Flags.boolean({char: 'y', description: 'do not ask for confirmation (targets with confirm: true, e.g. production)'}),
    rollback: Flags.boolean({description: 'return to the previous version (or --version V); builds nothing', exclusive: ['history']}),
    history: Flags.boolean({description: 'list the deployments of this target and stop', exclusive: ['rollback', 'dry-run']}),
    'allow-dirty': Flags.boolean({description: 'deploy even though the working tree has uncommitted changes'}),
    timeout: Flags.integer({description: 'seconds to wait for every service to be healthy (default: the target\'s timeout, else 300)', min: 1}),
    json: Flags.boolean({description: 'print the plan (--dry-run), the history (--history) or the deployment record as JSON'}),
    verbose: Flags.boolean({char: 'v', description: 'show build output and every engine step'}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Deploy)
    const workspace = this.openWorkspace(flags)
    const request = {
      workspace,
      cwd: process.cwd(),
      env: args.env,
      projectName: flags['project-name'],
      version: flags.version,
      rollback: flags.rollback,
      allowDirty: flags['allow-dirty'],
      timeoutS: flags.timeout,
      ttaVersion: this.config.version,
    }

    if (flags.history) {
      const {records, targetNote} = await deployHistory(request)
      if (flags.json) return writeJson({env: args.env, deployments: records})
      if (targetNote) process.stderr.write(chalk.yellow(`warning: ${targetNote}\n`))
      process.stdout.write(records.length === 0 ? `no deployments of ${args.env} recorded\n` : `${historyTable(records)}\n`)
      return
    }

    const tty = Boolean(process.stderr.isTTY) && !process.env.CI && !flags.json
    const progress = async (steps: readonly DeployStep[]): Promise<DeployProgress> => (tty ? ttyDeployProgress({steps, verbose: flags.verbose}) : plainDeployProgress({verbose: flags.verbose}))

    const preflight = await progress(['preflight'])
    let prepared: PreparedDeploy
    try {
      prepared = await prepareDeploy(request, (event) => preflight.emit(event))
    } finally {
      await preflight.finish()
    }
    const {plan, target} = prepared
    if (flags.json && flags['dry-run']) return writeJson(plan)
    if (!flags.json) process.stdout.write(`\n${formatDeployPlan(plan)}\n\n`)
    if (flags['dry-run']) {
      if (!flags.json) process.stdout.write('dry run: nothing was built, pushed or changed\n')
      return
    }
    if (target.confirm && !flags.yes) {
      const what = plan.action === 'rollback' ? `Roll ${target.name} back to ${plan.version}` : `Deploy ${plan.version} to ${target.name}`
      const ok = await confirm(`${what} (${plan.type} at ${plan.host}, ${changedServices(plan).length} services change)?`)
      if (!ok) {
        process.stdout.write('nothing deployed\n')
        return
      }
    }

    // Ctrl-C: stop changing the target, let it finish what it was told, record the deployment as
    // interrupted, exit 130. Two more quit at once (the record may then be missing).
    const t0 = Date.now()
    const rows = await progress(RUN_STEPS)
    const interrupt = listenForInterrupt((count) => {
      if (count === 1) {
        rows.emit({type: 'note', message: 'interrupted: stopping; the deployment is being recorded (Ctrl-C twice more to quit at once)'})
      } else if (count >= 3) {
        process.stderr.write('\ninterrupted again: quitting; this deployment may be missing from the history\n')
        process.exit(ExitCode.interrupted)
      }
    })
    try {
      const result = await runDeploy(prepared, (event: DeployEvent) => rows.emit(event), interrupt.signal)
      await rows.finish()
      if (flags.json) return writeJson(result.record)
      const changed = result.record.changed.length
      const verb = plan.action === 'rollback' ? 'rolled back to' : 'deployed'
      process.stdout.write(`${chalk.green(`✔ ${verb} ${plan.version} on ${target.name}`)} in ${seconds(Date.now() - t0)}: ${changed} of ${plan.services.length} services changed, all healthy (project ${plan.project})\n`)
    } catch (error) {
      await rows.finish()
      if (error instanceof DeployFailedError) {
        if (flags.json) writeJson(error.record)
        throw failureError(error)
      }
      throw error
    } finally {
      interrupt.dispose()
    }
  }
}

function failureError(error: DeployFailedError): TtaError {
  const lines = [error.message]
  for (const failure of error.failures) {
    lines.push(`${failure.service}: ${failure.reason}`)
    if (failure.logs.length > 0) {
      lines.push(`  last ${failure.logs.length} log lines of ${failure.service}:`)
      for (const line of failure.logs) lines.push(`  │ ${line}`)
    }
  }
  if (error.rolledBackTo) lines.push(`rolled back: ${error.rolledBackTo} runs again`)
  else lines.push(`not rolled back: ${error.rollbackProblems.join('; ') || 'see above'}`)
  return new TtaError(lines.join('\n'), ExitCode.failed, error.rolledBackTo ? 'fix the service above and deploy a new version' : 'inspect the target, then deploy again or run --rollback')
}

function historyTable(records: DeployRecord[]): string {
  const rows = records.map((r) => [
    r.finishedAt.replace('T', ' ').replace(/\.\d+Z$/, 'Z'),
    r.action,
    r.version,
    r.result === 'succeeded' ? chalk.green(r.result) : r.result === 'rolled-back' || r.result === 'interrupted' ? chalk.yellow(r.result) : chalk.red(r.result),
    r.activeVersion ?? '?',
    r.by,
    r.commit ? `${r.commit.slice(0, 8)}${r.dirty ? '+dirty' : ''}` : '',
    r.error ? r.error.split('\n')[0]?.slice(0, 80) ?? '' : [...r.changed, ...(r.removed ?? []).map((s) => `-${s}`)].join(','),
  ])
  return table(['FINISHED', 'ACTION', 'VERSION', 'RESULT', 'RUNNING', 'BY', 'COMMIT', 'CHANGED / ERROR'], rows)
}
