#!/usr/bin/env node
// Runs the built CLI (`tta config --format json -f …`) on every case of the conformance corpus and
// fails if any run prints a stack trace or exits with a code other than 0 (accepted) or 2 (bad
// input). The conformance test checks the same through the loader; this checks the CLI around it.
// About 2 minutes here (one node start per case).
//
// usage: npm run build && node scripts/conformance/cli-check.mjs
import {spawnSync} from 'node:child_process'
import {readFileSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const root = path.join(repo, 'test/conformance')
const {cases} = JSON.parse(readFileSync(path.join(root, 'manifest.json'), 'utf8'))
const env = {PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/nonexistent/conformance-home'}

const codes = {}
const bad = []
for (const c of cases) {
  const args = [path.join(repo, 'bin/run.js'), 'config', '--format', 'json', ...c.files.flatMap((f) => ['-f', f])]
  const r = spawnSync(process.execPath, args, {cwd: path.join(root, c.dir), env, encoding: 'utf8', timeout: 60_000})
  codes[r.status] = (codes[r.status] ?? 0) + 1
  if (/^\s+at .+\(.+:\d+:\d+\)$/m.test(r.stderr) || (r.status !== 0 && r.status !== 2)) bad.push(`${c.id} (exit ${r.status}):\n${r.stderr}`)
}
process.stdout.write(`${cases.length} cases, exit codes ${JSON.stringify(codes)}\n`)
if (bad.length > 0) {
  process.stdout.write(bad.join('\n'))
  process.exit(1)
}
