// What every benchmark shares: clean-up of a compose project by its label, medians, a free port,
// the table printed at the end, the engine's version.
import {spawnSync} from 'node:child_process'
import {createServer} from 'node:net'

const PROJECT_LABEL = 'com.docker.compose.project'

/** Removes a project's containers (with their anonymous volumes), networks and volumes. */
export function removeProject(project: string): void {
  const filter = `label=${PROJECT_LABEL}=${project}`
  const ids = spawnSync('docker', ['ps', '-aq', '--filter', filter], {encoding: 'utf8'}).stdout.trim().split('\n').filter(Boolean)
  if (ids.length > 0) spawnSync('docker', ['rm', '-f', '-v', ...ids])
  for (const kind of ['network', 'volume'] as const) {
    // Right after a hundred containers go, the engine may still hold endpoints on their network
    // ("has active endpoints"): try again for a few seconds rather than leave it to the next run.
    for (let attempt = 0; attempt < 20; attempt++) {
      const names = spawnSync('docker', [kind, 'ls', '-q', '--filter', filter], {encoding: 'utf8'}).stdout.trim().split('\n').filter(Boolean)
      if (names.length === 0 || spawnSync('docker', [kind, 'rm', ...names]).status === 0) break
      spawnSync('sleep', ['0.25'])
    }
  }
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}

export function p90(values: number[]): number {
  return [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * 0.9))] as number
}

export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => resolvePort(typeof address === 'object' && address ? address.port : 0))
    })
  })
}

/** Prints rows as aligned columns, header first. */
export function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  for (const row of [header, ...rows]) process.stdout.write(row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ') + '\n')
}

export function engineVersion(): string {
  return spawnSync('docker', ['version', '--format', '{{.Server.Version}} (API {{.Server.APIVersion}})'], {encoding: 'utf8'}).stdout.trim()
}
