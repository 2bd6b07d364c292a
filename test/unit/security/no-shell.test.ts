// Security default: tta never hands a string to a shell. Every program runs from an argument
// array (execa(file, args) / spawn(file, args)); this scan over src/ fails when someone adds a
// shell option, execa's command-string or template APIs, or child_process exec.
import {describe, expect, it} from 'vitest'

import {processCalls, readSource, shellFindings, shellScriptInterpolations, sourceFiles} from './source-scan.js'

describe('no shell strings in src/', () => {
  it('finds none', () => {
    const findings = sourceFiles().flatMap((file) => shellFindings(readSource(file), file))
    expect(findings.map((f) => `${f.where}: ${f.what}`)).toEqual([])
  })

  it('did look at the places that run programs (docker build, git, the docker CLI for registry logins, doctor)', () => {
    const running = sourceFiles().filter((file) => processCalls(readSource(file)) > 0)
    expect(running).toEqual(expect.arrayContaining(['src/engine/images.ts', 'src/deploy/version.ts', 'src/deploy/registry.ts', 'src/commands/doctor.ts']))
  })

  describe('the scan catches', () => {
    const bad: Record<string, string> = {
      'execa with shell: true': "import {execa} from 'execa'\nawait execa('docker', ['ps'], {shell: true})",
      'a shell path': "await execa('docker', [], {reject: false, shell: '/bin/bash'})",
      'a shorthand shell option': "const shell = true\nspawn('docker', [], {shell})",
      'execaCommand': "import {execaCommand} from 'execa'\nawait execaCommand('docker ps')",
      'execaCommand by dynamic import': "const {execaCommand} = await import('execa')",
      'the $ template': "import {$} from 'execa'\nawait $`docker ps`",
      '$ with options': "await $({cwd: '/'})`docker ${args}`",
      'execa as a template tag': 'await execa`docker ps`',
      'child_process exec': "import {exec} from 'node:child_process'\nexec('docker ps')",
      'child_process execSync, renamed': "import {execSync as run} from 'child_process'\nrun('ls')",
      'child_process exec through a namespace': "import * as cp from 'node:child_process'\ncp.exec('docker ps')",
      'child_process exec through require': "const cp = require('child_process')\ncp.execSync('ls')",
    }
    for (const [name, code] of Object.entries(bad)) {
      it(name, () => {
        expect(shellFindings(code).length).toBeGreaterThan(0)
      })
    }
  })

  it('and lets argument arrays through', () => {
    const good = [
      "import {execa} from 'execa'\nawait execa('docker', ['build', '-t', tag, '.'], {reject: false, shell: false})",
      "import {spawn, execFile} from 'node:child_process'\nspawn('docker', ['ps'])\nexecFile('git', ['describe'])",
      "// {shell: true} in a comment, and execaCommand too\nconst text = 'shell: true, $`x`'",
      'const re = /exec\\(/\nre.exec(line)',
    ]
    for (const code of good) expect(shellFindings(code), code).toEqual([])
  })

  describe('shell scripts (sh -c, here or in a container) are constants: values go in as "$1", "$@"', () => {
    it('none in src/ splices a value into its script', () => {
      const findings = sourceFiles().flatMap((file) => shellScriptInterpolations(readSource(file), file))
      expect(findings.map((f) => `${f.where}: ${f.what}`)).toEqual([])
    })

    it('the scan catches a template or a concatenation, and lets constants and positional parameters through', () => {
      expect(shellScriptInterpolations("const cmd = ['sh', '-c', `ls ${dir}/databases`]")).toHaveLength(1)
      expect(shellScriptInterpolations("exec(c, ['bash', '-c', 'redis-cli -p ' + port])")).toHaveLength(1)
      expect(shellScriptInterpolations("run({cmd: ['/bin/sh', '-c', `t=$(mktemp) && ${cli.join(' ')} --rdb`]})")).toHaveLength(1)
      expect(shellScriptInterpolations(`const a = ['sh', '-c', 'for d in "$1"/x; do :; done', 'sh', dir]`)).toEqual([])
      expect(shellScriptInterpolations("const a = ['sh', '-c', SCRIPT]\nconst b = ['echo', `${x}`]")).toEqual([])
    })
  })
})
