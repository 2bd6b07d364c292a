/**
 * The silent differences and the validation of issue 18, each checked against what
 * `docker compose config` (2.26.1) does with the same file.
 */
import {mkdirSync, mkdtempSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {beforeEach, describe, expect, it} from 'vitest'

import {parseDotenv} from '../../../src/compose/dotenv.js'
import {loadProject, type LoadOptions} from '../../../src/compose/load.js'
import {errorsOf} from './support.js'

let dir: string

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'tta-diffs-'))
})

function write(name: string, text: string): string {
  const file = path.join(dir, name)
  mkdirSync(path.dirname(file), {recursive: true})
  writeFileSync(file, text)
  return file
}

function load(files: Record<string, string>, options: Partial<LoadOptions> = {}): ReturnType<typeof loadProject> {
  const paths = Object.entries(files).map(([name, text]) => write(name, text))
  return loadProject({files: paths, environment: {}, envFiles: [], projectName: 'p', ...options})
}

describe('silent differences (issue 18)', () => {
  const profiled = 'services:\n  a: {image: x, profiles: [p1]}\n  b: {image: x, profiles: [p2]}\n  c: {image: x}\n'

  it('COMPOSE_PROFILES from the environment or .env enables profiles; --profile replaces it', () => {
    expect(Object.keys(load({'c.yml': profiled}, {environment: {COMPOSE_PROFILES: ' p1 , p2'}}).project.services)).toEqual(['a', 'b', 'c'])
    const env = write('.env', 'COMPOSE_PROFILES=p1\n')
    expect(Object.keys(load({'c.yml': profiled}, {envFiles: [env]}).project.services)).toEqual(['a', 'c'])
    expect(Object.keys(load({'c.yml': profiled}, {envFiles: [env], profiles: ['p2']}).project.services)).toEqual(['b', 'c'])
    expect(Object.keys(load({'c.yml': profiled}, {environment: {COMPOSE_PROFILES: ''}}).project.services)).toEqual(['c'])
  })

  it('COMPOSE_PROJECT_NAME is the project name in interpolation', () => {
    const file = 'name: fromfile\nservices: {a: {image: x, environment: {N: "${COMPOSE_PROJECT_NAME}"}}}\n'
    expect(load({'c.yml': file}).project.services.a?.environment).toEqual({N: 'p'})
    expect(load({'c.yml': file}, {projectName: undefined}).project.services.a?.environment).toEqual({N: 'fromfile'})
    const fromEnv = load({'c.yml': file}, {projectName: undefined, environment: {COMPOSE_PROJECT_NAME: 'fromenv'}})
    expect(fromEnv.project.name).toBe('fromenv')
    expect(fromEnv.project.services.a?.environment).toEqual({N: 'fromenv'})
    // `name:` itself is read before the name is known (Compose gives "zz" here too).
    const self = load({'c.yml': 'name: ${COMPOSE_PROJECT_NAME:-zz}\nservices: {a: {image: x}}\n'}, {projectName: undefined})
    expect(self.project.name).toBe('zz')
  })

  it('reads YAML 1.1 octal as octal (mode: 0440 is 288), 0o and 0x too', () => {
    const {project} = load({
      'c.yml': `
services:
  a:
    image: x
    secrets: [{source: s, mode: 0440}]
    environment: {O: 017, O2: 0o17, H: 0x1F, Z: 0, Y: yes}
secrets:
  s: {file: ./c.yml}
`,
    })
    expect(project.services.a?.secrets?.[0]?.mode).toBe(288)
    expect(project.services.a?.environment).toEqual({H: '31', O: '15', O2: '15', Y: 'yes', Z: '0'})
  })

  it('keeps every digit of integers beyond 2^53 (float beyond 64 bits, as Go reads it)', () => {
    const {project} = load({
      'c.yml': 'services: {a: {image: x, environment: {BIG: 12345678901234567890, B2: 9007199254740993, HUGE: 123456789012345678901234567890}}}\n',
    })
    expect(project.services.a?.environment).toEqual({B2: '9007199254740993', BIG: '12345678901234567890', HUGE: '1.2345678901234568e+29'})
  })

  it('merges the documents of a multi-document file as Compose does', () => {
    const {project} = load({
      'c.yml': 'services: {a: {image: x, ports: ["80"], command: [a], environment: {X: "1"}}}\n---\nservices: {a: {ports: ["81"], command: [b], environment: {Y: "2"}}}\n',
    })
    const a = project.services.a
    expect(a?.command).toEqual(['b'])
    expect(a?.environment).toEqual({X: '1', Y: '2'})
    expect(a?.ports?.map((p) => p.target)).toEqual([80, 81])
  })

  it('refuses an empty document in a multi-document file, naming it', () => {
    const errors = errorsOf(() => load({'c.yml': 'services: {a: {image: x}}\n---\n# nothing\n---\nservices: {b: {image: y}}\n'}))
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatch(/c\.yml:2:\d+: a compose file must be a mapping at the top level \(this document is empty\)/)
  })

  it('accepts legacy external: {name: x} with a deprecation warning', () => {
    const loaded = load({
      'c.yml': `
services: {a: {image: x, networks: [n], volumes: ["data:/v"], secrets: [s], configs: [c]}}
networks: {n: {external: {name: realnet}}}
volumes: {data: {external: {name: realvol}}}
secrets: {s: {external: {name: realsec}}}
configs: {c: {external: {name: realcfg}}}
`,
    })
    expect(loaded.project.networks.n).toEqual({name: 'realnet', ipam: {}, external: true})
    expect(loaded.project.volumes.data).toEqual({name: 'realvol', external: true})
    expect(loaded.project.secrets?.s).toEqual({name: 'realsec', external: true})
    expect(loaded.project.configs?.c).toEqual({name: 'realcfg', external: true})
    expect(loaded.warnings.filter((w) => w.includes('external.name is deprecated'))).toHaveLength(4)
  })

  it('network_mode/ipc/pid service:X, links and volumes_from imply depends_on; explicit entries win', () => {
    const {project} = load({
      'c.yml': `
services:
  a: {image: x, network_mode: "service:b", ipc: "service:c", pid: "service:d", depends_on: {b: {condition: service_healthy}}}
  e: {image: x, links: ["f:alias"], volumes_from: [g, "container:other"]}
  b: {image: x}
  c: {image: x}
  d: {image: x}
  f: {image: x}
  g: {image: x}
`,
    })
    expect(project.services.a?.depends_on).toEqual({
      b: {condition: 'service_healthy', required: true},
      c: {condition: 'service_started', restart: true, required: true},
      d: {condition: 'service_started', restart: true, required: true},
    })
    expect(project.services.e?.depends_on).toEqual({
      f: {condition: 'service_started', restart: true, required: true},
      g: {condition: 'service_started', required: true},
    })
  })

  it('refuses an implied dependency on an undefined service at the key that implies it', () => {
    const errors = errorsOf(() => load({'c.yml': 'services:\n  a:\n    image: x\n    network_mode: service:zz\n'}))
    expect(errors).toEqual([expect.stringMatching(/c\.yml:4:19: services\.a\.network_mode: service "a" depends on undefined service "zz"/)])
  })

  it('merges depends_on across -f files: a long-form overlay keeps the condition', () => {
    const base = 'services:\n  a: {image: x, depends_on: {b: {condition: service_healthy}}}\n  b: {image: x}\n  c: {image: x}\n'
    const {project} = load({'a.yml': base, 'b.yml': 'services:\n  a:\n    depends_on: {b: {required: false}, c: {condition: service_started}}\n'})
    expect(project.services.a?.depends_on).toEqual({
      b: {condition: 'service_healthy', required: false},
      c: {condition: 'service_started', required: true},
    })
    // The short form stands for the defaults and replaces the condition (as in Compose).
    const short = load({'a.yml': base, 'b.yml': 'services:\n  a:\n    depends_on: [b]\n'})
    expect(short.project.services.a?.depends_on).toEqual({b: {condition: 'service_started', required: true}})
  })

  it('refuses a long-form depends_on entry without a condition after the merge', () => {
    const errors = errorsOf(() => load({'c.yml': 'services:\n  a:\n    image: x\n    depends_on: {b: {required: false}}\n  b: {image: x}\n'}))
    expect(errors).toEqual([expect.stringMatching(/c\.yml:4:18: services\.a\.depends_on\.b: condition is required/)])
  })

  it('accepts depends_on with required: false on a service whose profile is inactive', () => {
    const {project} = load({
      'c.yml': 'services:\n  a: {image: x, depends_on: {b: {condition: service_healthy, required: false}}}\n  b: {image: x, profiles: [off]}\n',
    })
    expect(Object.keys(project.services)).toEqual(['a'])
    expect(project.services.a?.depends_on).toEqual({b: {condition: 'service_healthy', required: false}})
    const errors = errorsOf(() =>
      load({'c.yml': 'services:\n  a: {image: x, depends_on: {b: {condition: service_healthy}}}\n  b: {image: x, profiles: [off]}\n'}),
    )
    expect(errors[0]).toMatch(/not enabled/)
  })

  it('reads dotenv keys with "-", "[" and "]" as Compose does, and still refuses "/"', () => {
    expect(parseDotenv('A-B=1\n-A=2\nA[0]=3\nA.B=4\n', '.env')).toEqual({'-A': '2', 'A-B': '1', 'A.B': '4', 'A[0]': '3'})
    expect(() => parseDotenv('A/B=1\n', '.env')).toThrow(/unexpected character "\/"/)
  })

  it('dockerfile: ${UNSET} means the default Dockerfile, left out as Compose prints it', () => {
    const {project} = load({'c.yml': 'services: {a: {build: {context: ., dockerfile: "${UNSET}"}}}\n'})
    expect(project.services.a?.build).toEqual({context: dir})
  })

  it('build args that resolve to nothing are dropped; interpolated empty ones stay ""', () => {
    const {project} = load({'c.yml': 'services:\n  a:\n    build:\n      context: .\n      args: {A: "${UNSET}", B: null, C: "", D: null}\n'}, {environment: {D: 'd'}})
    expect(project.services.a?.build?.args).toEqual({A: '', C: '', D: 'd'})
  })
})

describe('validation Compose does (issue 18)', () => {
  it.each(['driver: foo', 'driver_opts: {a: b}', 'labels: {a: b}'])('refuses an external volume with %s', (extra) => {
    const errors = errorsOf(() => load({'c.yml': `services: {a: {image: x, volumes: ["data:/v"]}}\nvolumes:\n  data:\n    external: true\n    ${extra}\n`}))
    const key = extra.split(':')[0] as string
    expect(errors).toEqual([expect.stringMatching(new RegExp(`c\\.yml:5:5: volumes\\.data\\.${key}: conflicting parameters "external" and "${key}"`))])
  })

  it.each([
    ['services:\n  a: {image: x, environment: {1: a}}\n', /c\.yml:2:31: services\.a\.environment: mapping key 1 is a number, not a string; quote it \("1"\)/],
    ['services:\n  1: {image: x}\n', /c\.yml:2:3: services: mapping key 1 is a number/],
    ['services:\n  a: {image: x, labels: {true: a}}\n', /c\.yml:2:26: services\.a\.labels: mapping key true is a boolean/],
    ['services:\n  a: {image: x, environment: {null: a}}\n', /c\.yml:2:31: services\.a\.environment: mapping key null is null/],
  ])('refuses non-string keys: %s', (text, message) => {
    expect(errorsOf(() => load({'c.yml': text}))).toEqual([expect.stringMatching(message)])
  })

  it('refuses name: 123 but accepts an interpolated number', () => {
    expect(errorsOf(() => load({'c.yml': 'name: 123\nservices: {a: {image: x}}\n'}, {projectName: undefined}))).toEqual([
      expect.stringMatching(/c\.yml:1:7: name: name must be a string/),
    ])
    expect(load({'c.yml': 'name: "${N}"\nservices: {a: {image: x}}\n'}, {projectName: undefined, environment: {N: '123'}}).project.name).toBe('123')
  })

  it.each(['', '# only a comment\n', '---\n'])('refuses an empty file (%j)', (text) => {
    expect(errorsOf(() => load({'c.yml': text}))).toEqual([expect.stringMatching(/c\.yml:1:1: empty compose file/)])
  })
})

describe('YAML floats become strings as Go prints them (docker compose 2.26.1)', () => {
  it('uses the exponent form below 1e-4 and from 1e6', () => {
    const {project} = load({
      'c.yml': 'services:\n  a:\n    image: x\n    environment: {A: 1e6, B: 1.0, C: 0.00001, D: 123456789.0, E: 1e21, F: 12345678.5, G: 123456.0, H: 1.5e30}\n    labels: {l: 2.5e-7}\n',
    })
    expect(project.services.a?.environment).toEqual({A: '1e+06', B: '1', C: '1e-05', D: '1.23456789e+08', E: '1e+21', F: '1.23456785e+07', G: '123456', H: '1.5e+30'})
    expect(project.services.a?.labels).toEqual({l: '2.5e-07'})
  })

  it('still reads numeric fields from floats', () => {
    const {project} = load({'c.yml': 'services:\n  a:\n    image: x\n    cpus: 0.5\n    healthcheck: {test: [CMD, x], retries: 1e1}\n'})
    expect(project.services.a?.cpus).toBe(0.5)
    expect(project.services.a?.healthcheck?.retries).toBe(10)
  })
})
