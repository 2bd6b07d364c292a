import {Flags} from '@oclif/core'
import chalk from 'chalk'

import {TtaCommand} from '../cli/base-command.js'
import {runDoctor, type CheckStatus} from '../doctor/checks.js'
import {ExitCode, TtaError} from '../errors.js'
import {writeJson} from '../ui/output.js'
import {execVerbose} from '../debug.js'

const MARK: Record<CheckStatus, string> = {ok: chalk.green('✔'), warn: chalk.yellow('!'), fail: chalk.red('✖'), info: chalk.dim('·')}

export default class Doctor extends TtaCommand {
  static override summary = 'Check that tta dev can work here: engine, ports, disk, memory, workspace, devcontainer.'

  static override description =
    'Runs every preflight check without creating anything. Exits 1 when something would block `tta dev` ' +
    '(engine unreachable, a bundled port taken, compose files that do not load), naming the fix.'

  static override examples = ['<%= config.bin %> doctor', '<%= config.bin %> doctor --json']

  static override flags = {
    json: Flags.boolean({description: 'print the report as JSON: {ok, checks: [{id, title, status, detail, fix?}]}'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(Doctor)
    const workspace = this.openWorkspace(flags)
    const report = await runDoctor({workspace, cwd: process.cwd(), projectName: flags['project-name'], composeVersion: await composeVersion()})
    if (flags.json) {
      writeJson(report)
    } else {
      const width = Math.max(...report.checks.map((c) => c.title.length))
      for (const check of report.checks) {
        process.stdout.write(`${MARK[check.status]} ${check.title.padEnd(width)}  ${check.detail}\n`)
        if (check.fix && check.status !== 'ok') process.stdout.write(chalk.dim(`  ${' '.repeat(width)}  → ${check.fix}\n`))
      }
    }
    if (!report.ok) throw new TtaError(`${report.checks.filter((c) => c.status === 'fail').map((c) => c.title).join(', ')}: would block tta dev`, ExitCode.failed)
  }
}

async function composeVersion(): Promise<string | undefined> {
  const {execa} = await import('execa')
  const result = await execa('docker', ['compose', 'version', '--short'], {reject: false, timeout: 5000, verbose: execVerbose()})
  return result.exitCode === 0 ? result.stdout.trim() : undefined
}
