import {mkdirSync, mkdtempSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {beforeEach, describe, expect, it} from 'vitest'

import {loadProject, type LoadOptions} from '../../../src/compose/load.js'
import {errorsOf} from './support.js'

let dir: string

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'tta-load-'))
})

function write(name: string, text: string): string {
  const file = path.join(dir, name)
  mkdirSync(path.dirname(file), {recursive: true})
  writeFileSync(file, text)
  return file
}

function load(files: Record<string, string>, options: Partial<LoadOptions> = {}): ReturnType<typeof loadProject> {
  const paths = Object.entries(files).map(([name, text]) => write(name, text))
  return loadProject({files: paths, environment: {HOME: '/root'}, envFiles: [], ...options})
}

describe('normalization (checked against docker compose 2.26 config --format json)', () => {
  it('expands short syntaxes and fills Compose defaults', () => {
    const {project} = load({
      'compose.yml': `
services:
  redis:
    image: redis:7.2.4-alpine
    ports: ["127.0.0.1:6379:6379", "3000", {target: 7000, published: 7001}]
    volumes: [data:/data, ./x:/x:ro, /abs:/abs:z, ~/h:/h, /anon]
    command: redis-server --appendonly "yes no" 'a b'
    healthcheck: {test: redis-cli ping, interval: 90s, timeout: 0.5s}
    environment: [FOO, BAR=1, HOME]
    deploy: {resources: {limits: {memory: 512M, cpus: "0.5"}}}
    stop_grace_period: 1m
  app:
    build: ./x
    depends_on: [redis]
    mem_limit: 1g
    shm_size: 64m
    entrypoint: ["a", "b"]
volumes:
  data:
  unused: {}
networks:
  unused: {}
`,
    })
    expect(project.name).toBe(path.basename(dir).toLowerCase().replace(/[^a-z0-9_-]/g, ''))
    const p = project.name
    expect(project.networks).toEqual({default: {name: `${p}_default`, ipam: {}}})
    expect(project.volumes).toEqual({data: {name: `${p}_data`}})
    const redis = project.services.redis
    expect(redis?.ports).toEqual([
      {mode: 'ingress', host_ip: '127.0.0.1', target: 6379, published: '6379', protocol: 'tcp'},
      {mode: 'ingress', target: 3000, protocol: 'tcp'},
      {mode: 'ingress', target: 7000, published: '7001', protocol: 'tcp'},
    ])
    expect(redis?.volumes).toEqual([
      {type: 'volume', source: 'data', target: '/data', volume: {}},
      {type: 'bind', source: path.join(dir, 'x'), target: '/x', read_only: true, bind: {create_host_path: true}},
      {type: 'bind', source: '/abs', target: '/abs', bind: {selinux: 'z', create_host_path: true}},
      {type: 'bind', source: path.join(os.homedir(), 'h'), target: '/h', bind: {create_host_path: true}},
      {type: 'volume', target: '/anon', volume: {}},
    ])
    expect(redis?.command).toEqual(['redis-server', '--appendonly', 'yes no', 'a b'])
    expect(redis?.entrypoint).toBeNull()
    expect(redis?.healthcheck).toEqual({test: ['CMD-SHELL', 'redis-cli ping'], timeout: '500ms', interval: '1m30s'})
    expect(redis?.environment).toEqual({BAR: '1', FOO: null, HOME: '/root'})
    expect(redis?.deploy).toEqual({resources: {limits: {cpus: 0.5, memory: '536870912'}}, placement: {}})
    expect(redis?.stop_grace_period).toBe('1m0s')
    expect(redis?.networks).toEqual({default: null})
    const app = project.services.app
    expect(app?.build).toEqual({context: path.join(dir, 'x'), dockerfile: 'Dockerfile'})
    expect(app?.depends_on).toEqual({redis: {condition: 'service_started', required: true}})
    expect(app?.mem_limit).toBe('1073741824')
    expect(app?.shm_size).toBe('67108864')
    expect(app?.command).toBeNull()
    expect(app?.entrypoint).toEqual(['a', 'b'])
  })

  it('interpolates values from the environment and .env, records them, warns on unset', () => {
    write('.env', 'FROM_FILE=file\nSHADOWED=file\n')
    const r = load(
      {
        'compose.yml': `
name: \${NAME:-Demo_Proj}
services:
  s:
    image: "busybox:\${TAG-1.36}"
    network_mode: host
    command: ""
    entrypoint: []
    labels:
      a: \${FROM_FILE}
      b: \${SHADOWED}
      c: $\${ESC}
      d: \${UNSET_X}
      e: \${A:-\${B:-nested}}
      f: 1
`,
      },
      {envFiles: [path.join(dir, '.env')], environment: {SHADOWED: 'env'}},
    )
    const s = r.project.services.s
    expect(r.project.name).toBe('demo_proj')
    expect(s?.image).toBe('busybox:1.36')
    expect(s?.labels).toEqual({a: 'file', b: 'env', c: '${ESC}', d: '', e: 'nested', f: '1'})
    expect(s?.command).toEqual([])
    expect(s?.entrypoint).toEqual([])
    expect(s?.networks).toBeUndefined()
    expect(r.project.networks).toEqual({})
    expect(r.environment).toMatchObject({FROM_FILE: 'file', SHADOWED: 'env', UNSET_X: '', TAG: ''})
    expect(r.warnings).toEqual([expect.stringMatching(/compose\.yml:13:10: services\.s\.labels\.d: the "UNSET_X" variable is not set/)])
  })

  it('reads env_file entries under environment, explicit environment winning', () => {
    write('a.env', 'FOO=fromfile\nBAR=fb\nINTERP=${HOME}x\n')
    write('b.env', 'BAR=second\n')
    const {project} = load({
      'compose.yml': `
services:
  a:
    image: busybox
    env_file: [a.env, {path: b.env}, {path: missing.env, required: false}]
    environment: [FOO, BAZ]
`,
    })
    expect(project.services.a?.environment).toEqual({BAR: 'second', BAZ: null, FOO: null, INTERP: '/rootx'})
  })

  it('prints long-syntax volumes, secrets, configs and networks like Compose', () => {
    const {project} = load({
      'compose.yml': `
name: p
services:
  t:
    image: busybox
    networks: {n1: {aliases: [a], ipv4_address: 10.0.0.2}}
    healthcheck: {disable: true}
    volumes:
      - {type: bind, source: ./rel, target: /r}
      - {type: volume, source: v1, target: /v, volume: {nocopy: true}}
    secrets: [s1]
    configs: [c1]
    ulimits: {nofile: 1000, nproc: {soft: 1, hard: 2}}
    extra_hosts: {zed: 1.2.3.4, alpha: "::1"}
networks:
  n1: {driver: bridge, ipam: {config: [{subnet: 10.0.0.0/24}]}}
  ext: {external: true}
volumes: {v1: {}}
secrets: {s1: {file: ./secret.txt}}
configs: {c1: {content: hello}}
`,
    })
    const t = project.services.t
    expect(t?.volumes).toEqual([
      {type: 'bind', source: path.join(dir, 'rel'), target: '/r'},
      {type: 'volume', source: 'v1', target: '/v', volume: {nocopy: true}},
    ])
    expect(t?.secrets).toEqual([{source: 's1', target: '/run/secrets/s1'}])
    expect(t?.configs).toEqual([{source: 'c1'}])
    expect(t?.healthcheck).toEqual({disable: true})
    expect(t?.ulimits).toEqual({nofile: 1000, nproc: {soft: 1, hard: 2}})
    expect(t?.extra_hosts).toEqual(['alpha=::1', 'zed=1.2.3.4'])
    expect(project.networks).toEqual({n1: {name: 'p_n1', driver: 'bridge', ipam: {config: [{subnet: '10.0.0.0/24'}]}}})
    expect(project.secrets).toEqual({s1: {name: 'p_s1', file: path.join(dir, 'secret.txt')}})
    expect(project.configs).toEqual({c1: {name: 'p_c1', content: 'hello'}})
  })

  it('derives and validates the project name', () => {
    expect(load({'compose.yml': 'name: "My Proj!"\nservices: {a: {image: busybox}}\n'}).project.name).toBe('myproj')
    expect(load({'compose.yml': 'services: {a: {image: busybox}}\n'}, {projectName: 'given'}).project.name).toBe('given')
    const weird = path.join(dir, '_Weird.Dir X')
    mkdirSync(weird)
    writeFileSync(path.join(weird, 'compose.yml'), 'services: {a: {image: busybox}}\n')
    expect(loadProject({files: [path.join(weird, 'compose.yml')], environment: {}}).project.name).toBe('weirddirx')
    expect(errorsOf(() => load({'compose.yml': 'services: {a: {image: busybox}}\n'}, {projectName: 'Bad.Name'}))).toEqual([
      expect.stringMatching(/invalid project name "Bad.Name"/),
    ])
  })
})

describe('YAML', () => {
  it('resolves anchors, aliases and merge keys', () => {
    const {project} = load({
      'compose.yml': `
x-common: &common
  image: busybox
  environment: {A: "1", B: "2"}
services:
  a:
    <<: *common
    environment: {C: "3"}
  b: *common
`,
    })
    expect(project.services.a?.image).toBe('busybox')
    // Explicit keys win over merged ones (no deep merge: YAML semantics).
    expect(project.services.a?.environment).toEqual({C: '3'})
    expect(project.services.b?.environment).toEqual({A: '1', B: '2'})
  })

  it('rejects duplicate keys with the key path', () => {
    const file = path.join(dir, 'compose.yml')
    expect(errorsOf(() => load({'compose.yml': 'services:\n  r:\n    image: a\n    image: b\n'}))).toEqual([
      `${file}:4:5: services.r.image: duplicate key "image"`,
    ])
  })
})

describe('overlay merge (checked against docker compose 2.26)', () => {
  const base = `
services:
  s:
    image: busybox
    command: ["a", "b"]
    entrypoint: x y
    environment: {A: "1", B: "2"}
    labels: [l1=a, l2=b]
    extra_hosts: ["h1:1.1.1.1", "h2=2.2.2.2"]
    ports: ["8080:80", "9090:90"]
    volumes: ["./a:/a", "data:/b"]
    depends_on: [t]
    dns: [8.8.8.8, 1.1.1.1]
    cap_add: [NET_ADMIN]
    healthcheck: {test: ["CMD", "a"], interval: 10s}
    networks: [n1]
    logging: {driver: json-file, options: {max-size: 10m}}
    ulimits: {nofile: {soft: 1, hard: 2}}
    deploy: {resources: {limits: {memory: 1g}}}
    tmpfs: [/t1]
    profiles: [p1]
    sysctls: [a.b=1]
  t:
    image: busybox
    build: {context: ., args: [X=1]}
  u:
    image: busybox
volumes: {data: {}, more: {}}
networks: {n1: {}, n2: {}}
`
  const over = `
services:
  s:
    command: c
    entrypoint: !reset null
    environment: [B=3, C=4]
    labels: {l2: c, l3: d}
    extra_hosts: ["h1=9.9.9.9", "h3:3.3.3.3"]
    ports: ["8080:80", "7070:70"]
    volumes: ["./c:/a", "more:/c"]
    depends_on:
      u: {condition: service_healthy}
    dns: 1.1.1.1
    cap_add: [NET_ADMIN, SYS_ADMIN]
    healthcheck: {test: "b"}
    networks: {n2: {aliases: [x]}}
    logging: {options: {max-file: "3"}}
    ulimits: {nofile: 5}
    deploy: {resources: {limits: {cpus: "1"}}}
    tmpfs: /t2
    profiles: [p2]
    sysctls: {c.d: 2}
  t:
    build: {args: {Y: 2}}
`

  it('applies each rule', () => {
    const {project} = load({'a.yml': base, 'b.yml': over}, {profiles: ['p1']})
    const s = project.services.s
    expect(s?.command).toEqual(['c'])
    expect(s?.entrypoint).toBeNull()
    expect(s?.environment).toEqual({A: '1', B: '3', C: '4'})
    expect(s?.labels).toEqual({l1: 'a', l2: 'c', l3: 'd'})
    expect(s?.extra_hosts).toEqual(['h1=1.1.1.1', 'h1=9.9.9.9', 'h2=2.2.2.2', 'h3=3.3.3.3'])
    expect(s?.ports?.map((p) => `${p.published}:${p.target}`)).toEqual(['8080:80', '9090:90', '7070:70'])
    expect(s?.volumes?.map((v) => `${v.source}:${v.target}`)).toEqual([`${path.join(dir, 'c')}:/a`, 'data:/b', 'more:/c'])
    expect(s?.depends_on).toEqual({
      t: {condition: 'service_started', required: true},
      u: {condition: 'service_healthy', required: true},
    })
    expect(s?.dns).toEqual(['8.8.8.8', '1.1.1.1'])
    expect(s?.cap_add).toEqual(['NET_ADMIN', 'SYS_ADMIN'])
    expect(s?.healthcheck).toEqual({test: ['CMD-SHELL', 'b'], interval: '10s'})
    expect(s?.networks).toEqual({n1: null, n2: {aliases: ['x']}})
    expect(s?.logging).toEqual({driver: 'json-file', options: {'max-file': '3', 'max-size': '10m'}})
    expect(s?.ulimits).toEqual({nofile: 5})
    expect(s?.deploy?.resources).toEqual({limits: {cpus: 1, memory: '1073741824'}})
    expect(s?.tmpfs).toEqual(['/t1', '/t2'])
    expect(s?.profiles).toEqual(['p1', 'p2'])
    expect(s?.sysctls).toEqual({'a.b': '1', 'c.d': '2'})
    expect(project.services.t?.build?.args).toEqual({X: '1', Y: '2'})
  })

  it('!override replaces instead of merging; !reset removes', () => {
    const {project} = load({
      'a.yml': base,
      'b.yml': `
services:
  s:
    environment: !override {ONLY: "1"}
    ports: !override ["1234:80"]
    labels: !reset {}
    dns: !reset []
`,
    }, {profiles: ['p1']})
    const s = project.services.s
    expect(s?.environment).toEqual({ONLY: '1'})
    expect(s?.ports).toEqual([{mode: 'ingress', target: 80, published: '1234', protocol: 'tcp'}])
    expect(s?.labels).toBeUndefined()
    expect(s?.dns).toBeUndefined()
  })

  it('!reset on one environment key drops only that key; top-level x- keys are kept, replaced whole', () => {
    const {project} = load({
      'a.yml': 'x-meta: {a: 1, b: 2}\nservices: {s: {image: busybox, environment: {KEEP: k, DROP: d}}}\n',
      'b.yml': 'x-meta: {c: "${C:-3}"}\nservices: {s: {environment: {DROP: !reset null}}}\n',
    })
    expect(project.services.s?.environment).toEqual({KEEP: 'k'})
    expect(project.extensions).toEqual({'x-meta': {c: '3'}})
  })

  it('replaces logging when the driver changes', () => {
    const {project} = load({
      'a.yml': 'services: {s: {image: busybox, logging: {driver: json-file, options: {max-size: 1m}}}}\n',
      'b.yml': 'services: {s: {logging: {driver: syslog, options: {tag: x}}}}\n',
    })
    expect(project.services.s?.logging).toEqual({driver: 'syslog', options: {tag: 'x'}})
  })
})

describe('profiles', () => {
  const text = `
services:
  a: {image: busybox, depends_on: [b]}
  b: {image: busybox, profiles: [debug]}
  c: {image: busybox, profiles: [other]}
`
  it('enables services by profile', () => {
    expect(Object.keys(load({'compose.yml': text}, {profiles: ['debug']}).project.services)).toEqual(['a', 'b'])
    expect(Object.keys(load({'compose.yml': text}, {profiles: ['*']}).project.services)).toEqual(['a', 'b', 'c'])
  })

  it('rejects a dependency on a disabled service', () => {
    const file = path.join(dir, 'compose.yml')
    expect(errorsOf(() => load({'compose.yml': text}))).toEqual([
      `${file}:3:36: services.a.depends_on[0]: service "a" depends on service "b", which is not enabled (profiles: debug); enable one with --profile`,
    ])
  })
})

describe('errors: all collected, each with file:line:column and key path', () => {
  it('reports every problem in one run, in file order', () => {
    const file = write(
      'compose.yml',
      `version: "3.8"
services:
  redis:
    image: prom/prometheus:v2.48.1:v2.45.0
    imag: x
    ports: ["70000:80", "8080-8081:80-82", "80/xyz"]
    restart: sometimes
    healthcheck: {interval: 10x}
    mem_limit: 12q
    depends_on: [api, ghost]
    volumes: [undeclared:/data]
    networks: [nonet]
    post_start: []
    labels: {service: x}
    environment:
      A: {nested: 1}
  api:
    depends_on: [redis]
    build: .
    image: Upper/case
  nothing: {}
  worker:
    image: busybox
    command: {a: 1}
    ports: "80"
`,
    )
    const msgs = errorsOf(() => loadProject({files: [file], environment: {}, envFiles: []}))
    const at = (pos: string): string => `${file}:${pos}: `
    expect(msgs).toEqual([
      `${at('4:12')}services.redis.image: invalid image reference "prom/prometheus:v2.48.1:v2.45.0": more than one tag ("v2.48.1:v2.45.0")`,
      `${at('5:5')}services.redis.imag: unknown key "imag" (did you mean "image"?)`,
      `${at('6:13')}services.redis.ports[0]: published port 70000 is out of range (1-65535)`,
      `${at('6:25')}services.redis.ports[1]: port ranges "8080-8081" and "80-82" have different lengths`,
      `${at('6:44')}services.redis.ports[2]: invalid protocol "xyz" (expected tcp, udp or sctp)`,
      `${at('7:14')}services.redis.restart: invalid restart policy "sometimes" (expected no, always, on-failure[:N] or unless-stopped)`,
      `${at('8:29')}services.redis.healthcheck.interval: invalid duration "10x" (use a number with a unit: ns, us, ms, s, m, h, e.g. "1m30s")`,
      `${at('9:16')}services.redis.mem_limit: invalid size "12q" (expected e.g. "512m", "1g", "1048576")`,
      `${at('10:18')}services.redis.depends_on[0]: dependency cycle detected: api -> redis -> api`,
      `${at('10:23')}services.redis.depends_on[1]: service "redis" depends on undefined service "ghost"`,
      `${at('11:15')}services.redis.volumes[0]: undefined volume "undeclared" (declare it under the top-level volumes: key)`,
      `${at('12:16')}services.redis.networks[0]: undefined network "nonet" (declare it under the top-level networks: key)`,
      `${at('13:5')}services.redis.post_start: "post_start" is not supported by tta`,
      `${at('16:10')}services.redis.environment.A: expected a string, number, boolean or null, got a mapping`,
      `${at('20:12')}services.api.image: invalid image reference "Upper/case": repository name must be lowercase`,
      `${at('21:12')}services.nothing: service "nothing" has neither an image nor a build context`,
      `${at('24:14')}services.worker.command: expected a string or a sequence, got a mapping`,
      `${at('25:12')}services.worker.ports: expected a sequence, got a string`,
    ])
  })

  it('points interpolation errors at the scalar, and errors in an overlay at the overlay', () => {
    const a = write('a.yml', 'services:\n  s:\n    image: busybox\n    environment:\n      P: ${PW:?run tta init}\n')
    const b = write('b.yml', 'services:\n  s:\n    restart: sometimes\n')
    expect(errorsOf(() => loadProject({files: [a, b], environment: {}, envFiles: []}))).toEqual([
      `${a}:5:10: services.s.environment.P: required variable PW is missing a value: run tta init`,
      `${b}:3:14: services.s.restart: invalid restart policy "sometimes" (expected no, always, on-failure[:N] or unless-stopped)`,
    ])
    expect(errorsOf(() => loadProject({files: [a, b], environment: {PW: 'x'}, envFiles: []}))).toEqual([
      `${b}:3:14: services.s.restart: invalid restart policy "sometimes" (expected no, always, on-failure[:N] or unless-stopped)`,
    ])
  })

  it('warns that version is obsolete', () => {
    const r = load({'compose.yml': 'version: "3"\nservices: {a: {image: busybox}}\n'})
    expect(r.warnings).toEqual([`${path.join(dir, 'compose.yml')}:1:1: version: the attribute "version" is obsolete, it will be ignored`])
  })
})
