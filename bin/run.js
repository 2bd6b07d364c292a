#!/usr/bin/env node
// Fast paths for what scripts and prompts run many times a day, without loading oclif (about
// 100-150 ms here): `tta --version` in oclif's own format, and a plain one-shot `tta status`
// (dist/fast-status.js hands anything unusual back to oclif before doing any work).
const args = process.argv.slice(2)
// --debug must be on before any module decides whether to trace (src/debug.ts).
if (args.includes('--debug')) process.env.DEBUG = process.env.DEBUG ? `${process.env.DEBUG},tta:*` : 'tta:*'
let code
if (args.length === 1 && (args[0] === '--version' || args[0] === 'version')) {
  const {readFileSync} = await import('node:fs')
  const {version} = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
  process.stdout.write(`tta/${version} ${process.platform}-${process.arch} node-${process.version}\n`)
  code = 0
} else if (args[0] === 'status') {
  const {fastStatus} = await import(await fastStatusModule())
  code = await fastStatus(args.slice(1))
}
if (code === undefined) {
  const {execute} = await import('@oclif/core')
  await execute({dir: import.meta.url})
} else {
  process.exitCode = code
}

/**
 * The bundled fast path (scripts/bundle-fast-path.mjs, ~30 ms faster to load) unless it is
 * missing or older than the tsc output it was made from (a build without the bundling step).
 */
async function fastStatusModule() {
  const {statSync} = await import('node:fs')
  const bundle = new URL('../dist/fast/status.js', import.meta.url)
  const modules = new URL('../dist/fast-status.js', import.meta.url)
  try {
    if (statSync(bundle).mtimeMs >= statSync(modules).mtimeMs) return bundle.href
  } catch {
    // no bundle: the modules
  }
  return modules.href
}
