// Builds the tta ui page (web/) into dist/web: one minified ES module with Preact in it, the
// stylesheet and index.html, all served by `tta ui` from memory. Run by `npm run build`; the
// npm package ships the result, so nothing is fetched at run time.
import {copyFileSync, mkdirSync, readFileSync} from 'node:fs'

import {build} from 'esbuild'

mkdirSync('dist/web', {recursive: true})
// Preact's own build carries no licence comment: its MIT notice goes at the top of the bundle.
const preactLicence = readFileSync('node_modules/preact/LICENSE', 'utf8').trim().replaceAll('*/', '* /')
await build({
  entryPoints: ['web/main.tsx'],
  outfile: 'dist/web/app.js',
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['chrome110', 'firefox110', 'safari16'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  minify: true,
  legalComments: 'eof',
  banner: {js: `/*! tta ui (MIT). Bundles Preact, https://preactjs.com:\n${preactLicence}\n*/`},
  logLevel: 'warning',
})
copyFileSync('web/app.css', 'dist/web/app.css')
copyFileSync('web/index.html', 'dist/web/index.html')
