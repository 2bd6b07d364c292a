// Bundles the `tta status` fast path (dist/fast-status.js and what it imports of ours) into
// dist/fast/: one file to load instead of ~40 modules, measured at about 30 ms less start-up
// here. Packages stay external (loaded from node_modules when used). Run by `npm run build`
// after tsc; bin/run.js falls back to dist/fast-status.js when the bundle is absent.
import {build} from 'esbuild'

await build({
  entryPoints: {'status': 'dist/fast-status.js'},
  outdir: 'dist/fast',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  logLevel: 'warning',
})
