#!/usr/bin/env node
// CommonJS on purpose (bin/package.json): Node's ESM entry costs ~7 ms more, and what scripts and
// prompts run many times a day must start fast. Fast paths that skip oclif (about 100-150 ms
// here): `tta --version` in oclif's own format, and a plain one-shot `tta status`
// (dist/fast/status.cjs hands anything unusual back to oclif before doing any work).
const {statSync} = require('node:fs')
const {join} = require('node:path')

const root = join(__dirname, '..')

/**
 * The bundled fast path (scripts/bundle-fast-path.mjs) unless it is missing or older than the
 * tsc output it was made from (a build without the bundling step): then the ES modules.
 */
async function loadFastStatus() {
  const bundle = join(root, 'dist/fast/status.cjs')
  const modules = join(root, 'dist/cli/fast-status.js')
  try {
    if (statSync(bundle).mtimeMs >= statSync(modules).mtimeMs) return require(bundle)
  } catch {
    // no bundle: the modules
  }
  return import(require('node:url').pathToFileURL(modules).href)
}

async function main(args) {
  // --debug must be on before any module decides whether to trace (src/debug.ts).
  if (args.includes('--debug')) process.env.DEBUG = process.env.DEBUG ? `${process.env.DEBUG},tta:*` : 'tta:*'
  if (args.length === 1 && (args[0] === '--version' || args[0] === 'version')) {
    const {version} = require('../package.json')
    process.stdout.write(`tta/${version} ${process.platform}-${process.arch} node-${process.version}\n`)
    return 0
  }
  if (args[0] === 'status') {
    const code = await (await loadFastStatus()).fastStatus(args.slice(1))
    if (code !== undefined) return code
  }
  const {execute, settings} = await import('@oclif/core')
  // oclif looks for TypeScript sources to run through ts-node whenever NODE_ENV is development or
  // test, as it often is in a devcontainer (and under vitest): ~0.6 s of CPU on every command, for
  // a package that ships only compiled code.
  settings.enableAutoTranspile = false
  // The package root itself: oclif looks for package.json upward from here, and bin/ has its own.
  await execute({dir: root})
  return undefined
}

main(process.argv.slice(2)).then((code) => {
  if (code !== undefined) process.exitCode = code
})
