import {mkdtempSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {expect, it} from 'vitest'

import {loadProject} from '../../../src/compose/load.js'

// Found by the conformance corpus (docker/awesome-compose's pihole, plex and apache-php stacks).
it('keeps an absolute bind source as written and cleans the target, as Compose does', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tta-volpaths-'))
  const file = path.join(dir, 'compose.yaml')
  writeFileSync(
    file,
    'services:\n  s:\n    image: busybox\n    volumes: ["/etc/pihole/:/etc/pihole/", "./www/:/var/www/html/", "./:/a/./b", {type: bind, source: /x/, target: /long/}]\n',
  )
  const {project} = loadProject({files: [file], environment: {}, envFiles: []})
  expect(project.services.s?.volumes?.map((v) => [v.source, v.target])).toEqual([
    ['/etc/pihole/', '/etc/pihole'],
    [path.join(dir, 'www'), '/var/www/html'],
    [dir, '/a/b'],
    ['/x/', '/long'],
  ])
})
