#!/usr/bin/env node
// Records what Docker Compose says about every case of the conformance corpus
// (test/conformance/manifest.json) into test/conformance/expected.json, so that the
// conformance test needs no Compose binary. Each case runs as
//   docker compose [--project-directory D] -f <file>... config --format json
// in the case directory, with only PATH and a fixed HOME in the environment. Absolute paths
// under the corpus and the fixed HOME are recorded as <corpus> and <home>.
//
// usage: node scripts/conformance/expect.mjs   (needs `docker compose`, no engine)
import {spawnSync} from 'node:child_process'
import {readFileSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

export const CONFORMANCE_HOME = '/nonexistent/conformance-home'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../test/conformance')
const manifest = JSON.parse(readFileSync(path.join(root, 'manifest.json'), 'utf8'))
const env = {PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: CONFORMANCE_HOME}

const version = spawnSync('docker', ['compose', 'version', '--short'], {env, encoding: 'utf8'}).stdout.trim()
if (!version) throw new Error('docker compose is not available')

const results = {}
for (const c of manifest.cases) {
  const cwd = path.join(root, c.dir)
  const project = c.projectDirectory ? ['--project-directory', path.join(root, c.projectDirectory)] : []
  const args = ['compose', ...project, ...c.files.flatMap((f) => ['-f', f]), 'config', '--format', 'json']
  const r = spawnSync('docker', args, {cwd, env, encoding: 'utf8', timeout: 30_000})
  const placeholders = (s) => s.replaceAll(root, '<corpus>').replaceAll(CONFORMANCE_HOME, '<home>')
  if (r.status === 0) results[c.id] = {exit: 0, config: JSON.parse(placeholders(r.stdout))}
  else {
    // Warnings carry a timestamp; the error is what follows them.
    const lines = placeholders((r.stderr || r.stdout).trim()).split('\n').filter((l) => !/^time="[^"]*" level=warning/.test(l))
    results[c.id] = {exit: r.status ?? -1, error: lines.slice(0, 5).join('\n')}
  }
}
writeFileSync(
  path.join(root, 'expected.json'),
  JSON.stringify({compose: version, command: 'docker compose -f <file>... config --format json', results}, null, 1) + '\n',
)
const ok = Object.values(results).filter((r) => r.exit === 0).length
process.stdout.write(`compose ${version}: ${ok} accepted, ${Object.keys(results).length - ok} refused\n`)
