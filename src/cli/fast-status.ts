import {parseArgs} from 'node:util'

import {statusOnce, checkFailure} from '../status/one-shot.js'
import {configureColor, renderFailure} from '../ui/output.js'
import {renderStatusOnce} from '../ui/status-view.js'
import {openWorkspaceCached} from '../workspace/config-cache.js'

/**
 * `tta status` is run dozens of times an hour and loading oclif costs more than the status itself,
 * so bin/run.js hands the plain invocations to this: the flags of a one-shot status, parsed by
 * node:util. Anything else (help, --watch, --serve, --metrics, --secrets, a flag it does not
 * know, a malformed value) returns undefined *before doing anything*, and oclif takes over with
 * its full parsing and messages. The work and the output are the Status command's own.
 */
export async function fastStatus(argv: string[]): Promise<number | undefined> {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        json: {type: 'boolean'},
        check: {type: 'boolean'},
        stats: {type: 'boolean'},
        'no-stats': {type: 'boolean'},
        timeout: {type: 'string'},
        workspace: {type: 'string'},
        'project-name': {type: 'string'},
        debug: {type: 'boolean'},
      },
    })
  } catch {
    return undefined
  }
  const {values, positionals} = parsed
  // oclif reads "-x" after "--" and repeated flags differently; let it.
  if (positionals.some((p) => p.startsWith('-')) || argv.includes('--')) return undefined
  if (values.stats && values['no-stats']) return undefined
  const timeoutSeconds = values.timeout === undefined ? 1 : Number(values.timeout)
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0 || timeoutSeconds > 120) return undefined
  for (const name of ['workspace', 'project-name'] as const) if (values[name] !== undefined && values[name].startsWith('-')) return undefined

  configureColor()
  try {
    const workspace = await openWorkspaceCached(process.cwd(), values.workspace)
    const report = await statusOnce({workspace, projectName: values['project-name'], services: positionals, timeoutSeconds, stats: !values['no-stats']})
    process.stdout.write(renderStatusOnce(report, {json: Boolean(values.json)}))
    const failure = values.check ? checkFailure(report) : undefined
    if (!failure) return 0
    process.stderr.write(renderFailure(failure).text + '\n')
    return failure.exitCode
  } catch (error) {
    const {text, exitCode} = renderFailure(error as Error)
    process.stderr.write(text + '\n')
    return exitCode
  }
}
