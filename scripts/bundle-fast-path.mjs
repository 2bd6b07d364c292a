// Bundles the `tta status` fast path (dist/cli/fast-status.js and what it imports of ours) into one
// CommonJS file, dist/fast/status.cjs, that bin/run.js (CommonJS too) require()s: Node's ESM
// loader costs ~30 ms more here for the same code (resolving, linking and evaluating each module
// asynchronously; measured with bench/status.ts). chalk (ESM-only) is bundled in; the other
// packages stay external and load only when used. Run by `npm run build` after tsc; bin/run.js
// falls back to dist/cli/fast-status.js when the bundle is absent or older.
import {readFileSync} from 'node:fs'

import {build} from 'esbuild'

const {dependencies} = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
const external = Object.keys(dependencies)
  .filter((name) => name !== 'chalk')
  .flatMap((name) => [name, `${name}/*`])

await build({
  entryPoints: ['dist/cli/fast-status.js'],
  outfile: 'dist/fast/status.cjs',
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  external,
  // The modules find their package and require() beside themselves through import.meta.url.
  define: {'import.meta.url': '__ttaModuleUrl'},
  banner: {js: 'const __ttaModuleUrl = require("node:url").pathToFileURL(__filename).href;'},
  logLevel: 'warning',
})
