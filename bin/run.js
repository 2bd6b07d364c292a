#!/usr/bin/env node
// `tta --version` is asked for by scripts and prompts many times a day: answer it without
// loading oclif (about 150 ms here), in oclif's own format.
const args = process.argv.slice(2)
if (args.length === 1 && (args[0] === '--version' || args[0] === 'version')) {
  const {readFileSync} = await import('node:fs')
  const {version} = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
  process.stdout.write(`tta/${version} ${process.platform}-${process.arch} node-${process.version}\n`)
} else {
  const {execute} = await import('@oclif/core')
  await execute({dir: import.meta.url})
}
