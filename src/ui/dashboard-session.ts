import chalk from 'chalk'

import {listenForInterrupt} from '../cli/interrupt.js'
import {openDashboard, type DashboardRequest} from '../dashboard/open.js'
import {ExitCode, TtaError} from '../errors.js'

/** The command-side of `tta ui` and `tta dev --ui`: start the dashboard, print its URL, serve until Ctrl-C (130) or SIGTERM (0). */
export async function serveDashboard(request: DashboardRequest, options: {open: boolean}): Promise<number> {
  let dashboard
  try {
    dashboard = await openDashboard(request)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'EADDRINUSE') throw new TtaError(`--port: ${request.bind ?? '127.0.0.1'}:${request.port} is already in use`, ExitCode.badInput, 'pick another port with --port (0 picks a free one)')
    if (code === 'EADDRNOTAVAIL') throw new TtaError(`--bind: ${request.bind} is not an address of this machine`, ExitCode.badInput)
    throw error
  }
  process.stdout.write(`tta ui for project ${dashboard.project}: ${chalk.bold(dashboard.url)}\n`)
  process.stderr.write(chalk.dim('the URL carries this run\'s token: anyone with it can stop and restart services. Ctrl-C to stop\n'))
  if (options.open) await openBrowser(dashboard.url)
  const interrupt = listenForInterrupt()
  try {
    await interrupt.wait()
  } finally {
    interrupt.dispose()
  }
  await dashboard.close()
  return interrupt.exitCode()
}

/** $BROWSER (set by VS Code in a devcontainer), else the platform's opener; a failure is only a note. */
async function openBrowser(url: string): Promise<void> {
  const {execa} = await import('execa')
  const opener = process.env.BROWSER || (process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open')
  try {
    const child = execa(opener, [url], {stdio: 'ignore', detached: true})
    child.unref()
    await Promise.race([child.catch((error: Error) => Promise.reject(error)), new Promise((resolve) => setTimeout(resolve, 300))])
  } catch (error) {
    process.stderr.write(chalk.yellow(`could not open a browser (${opener}: ${(error as Error).message.split('\n')[0]}): open the URL above yourself\n`))
  }
}
