// The monitoring overlay's configuration checked by the real tools, from Debian's packages in the
// stand-in images: promtool (check config, check rules, test rules), amtool (check-config, routing)
// and blackbox_exporter --config.check. Files are mounted where the compose file mounts them.
import {cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'

import {docker, repoRoot, standinImage} from './helpers.js'

const mon = join(repoRoot, 'compose/monitoring')
const scratch = mkdtempSync(join(tmpdir(), 'tta-monitoring-configs-'))

afterAll(() => rmSync(scratch, {recursive: true, force: true}))

/** Runs a tool from a stand-in image with read-only mounts; returns the result whatever the exit code. */
function tool(image: Parameters<typeof standinImage>[0], mounts: Record<string, string>, entrypoint: string, args: string[], env: Record<string, string> = {}) {
  const flags = Object.entries(mounts).flatMap(([host, target]) => ['-v', `${host}:${target}:ro`])
  const envFlags = Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`])
  return docker(['run', '--rm', '--network', 'none', ...flags, ...envFlags, '--entrypoint', entrypoint, standinImage(image), ...args], {allowFailure: true})
}

const prometheusMounts = (dir = join(mon, 'prometheus')): Record<string, string> => ({
  [join(dir, 'prometheus.yml')]: '/etc/prometheus/prometheus.yml',
  [join(dir, 'rules')]: '/etc/prometheus/rules',
  [join(dir, 'tests')]: '/etc/prometheus/tests',
})

describe('Prometheus configuration (promtool)', () => {
  it('promtool check config accepts prometheus.yml and the rule files it loads', async () => {
    const r = await tool('prometheus', prometheusMounts(), 'promtool', ['check', 'config', '/etc/prometheus/prometheus.yml'])
    expect(r.stdout + r.stderr).toContain('SUCCESS: 1 rule files found')
    expect(r.stdout).toMatch(/SUCCESS: \d+ rules found/)
    expect(r.code).toBe(0)
  })

  it('promtool check rules accepts every rule file', async () => {
    const r = await tool('prometheus', prometheusMounts(), 'sh', ['-c', 'promtool check rules /etc/prometheus/rules/*.yml'])
    expect(r.stdout).toMatch(/SUCCESS: \d+ rules found/)
    expect(r.code).toBe(0)
  })

  it('promtool test rules: every alert fires and resolves as its tests expect', async () => {
    const r = await tool('prometheus', prometheusMounts(), 'promtool', ['test', 'rules', '/etc/prometheus/tests/tta-rules.test.yml'])
    expect(r.stdout + r.stderr).toContain('SUCCESS')
    expect(r.code).toBe(0)
  })

  it('the rule tests catch a broken rule (a ServiceDown that waits 10 minutes fails them)', async () => {
    const dir = join(scratch, 'mutated')
    cpSync(join(mon, 'prometheus'), dir, {recursive: true})
    const rules = join(dir, 'rules', 'tta.yml')
    const text = readFileSync(rules, 'utf8')
    const mutated = text.replace(/(alert: ServiceDown\n(?:.*\n)*?\s+for: )1m/, '$110m')
    expect(mutated).not.toBe(text)
    writeFileSync(rules, mutated)
    const r = await tool('prometheus', prometheusMounts(dir), 'promtool', ['test', 'rules', '/etc/prometheus/tests/tta-rules.test.yml'])
    expect(r.stdout + r.stderr).toContain('alertname: ServiceDown')
    expect(r.code).not.toBe(0)
  })
})

describe('Alertmanager configuration (amtool)', () => {
  const mounts = {[join(mon, 'alertmanager')]: '/etc/alertmanager/tta'}
  /** Renders the template with the bundled entrypoint, then runs amtool on the result. */
  const renderAndCheck = (url: string | undefined, amtool: string) =>
    tool('alertmanager', mounts, 'sh', ['-c', `sh /etc/alertmanager/tta/entrypoint.sh --render >/tmp/am.yml && cat /tmp/am.yml && ${amtool}`], url === undefined ? {} : {TTA_ALERT_WEBHOOK_URL: url})

  it('amtool check-config accepts the rendered config without a webhook (alerts stay in the UI)', async () => {
    const r = await renderAndCheck(undefined, 'amtool check-config /tmp/am.yml')
    expect(r.stdout).toContain('SUCCESS')
    expect(r.stdout).not.toContain('webhook_configs')
    expect(r.code).toBe(0)
  })

  it('amtool check-config accepts it with TTA_ALERT_WEBHOOK_URL, both receivers posting there', async () => {
    const url = 'https://hooks.example.test/services/T0/B1/x?token=a&b=c'
    const r = await renderAndCheck(url, 'amtool check-config /tmp/am.yml')
    expect(r.stdout).toContain('SUCCESS')
    expect(r.stdout.split(`url: '${url}'`).length - 1).toBe(2)
    expect(r.code).toBe(0)
  })

  it('routes critical alerts to the critical receiver, everything else to default', async () => {
    const r = await renderAndCheck(
      'http://alert-webhook:5001/alerts',
      'for s in critical warning info; do amtool config routes test --config.file=/tmp/am.yml severity=$s alertname=X; done',
    )
    expect(r.code).toBe(0)
    expect(r.stdout.trim().split('\n').slice(-3)).toEqual(['critical', 'default', 'default'])
  })

  it('refuses a webhook URL that is not http(s) or would break the YAML, saying why', async () => {
    for (const [url, why] of [
      ['ftp://example.test/x', 'must start with http:// or https://'],
      ["http://example.test/a'b", 'percent-encode'],
      ['http://example.test/a b', 'percent-encode'],
    ] as const) {
      const r = await tool('alertmanager', mounts, 'sh', ['/etc/alertmanager/tta/entrypoint.sh', '--render'], {TTA_ALERT_WEBHOOK_URL: url})
      expect(r.code, url).toBe(2)
      expect(r.stderr, url).toContain(why)
    }
  })
})

describe('blackbox exporter configuration', () => {
  it('blackbox_exporter --config.check accepts blackbox.yml', async () => {
    const r = await tool('blackbox-exporter', {[join(mon, 'blackbox/blackbox.yml')]: '/etc/blackbox_exporter/config.yml'}, '/bin/blackbox_exporter', [
      '--config.check',
      '--config.file=/etc/blackbox_exporter/config.yml',
    ])
    expect(r.stderr).toContain('Config file is ok')
    expect(r.code).toBe(0)
  })
})
