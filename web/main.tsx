// The tta ui page: one Preact tree fed by two server-sent event streams (/api/events for the
// state and action progress, /api/logs/stream for the selected service's logs). Bundled by
// scripts/bundle-ui.mjs into dist/web; nothing is fetched from anywhere but the tta ui server.
import {render} from 'preact'
import {useEffect, useMemo, useRef, useState} from 'preact/hooks'

import type {ActionEvent, DashboardState, LogEntry, ServiceAction, ServiceExtra} from '../src/dashboard/model.js'
import type {ServiceStatus} from '../src/status/model.js'

declare global {
  interface Window {
    /** Milliseconds from navigation start until the page was interactive (state shown, events connected). */
    ttaInteractiveMs?: number
  }
}

const token = document.querySelector<HTMLMetaElement>('meta[name="tta-token"]')?.content ?? ''
const initial = ((): DashboardState | undefined => {
  const text = document.getElementById('tta-state')?.textContent
  return text ? (JSON.parse(text) as DashboardState) : undefined
})()
// The token stays in the page (and a same-site cookie), not in the address bar or history.
if (location.search.includes('token=')) history.replaceState(null, '', location.pathname)

const MAX_LINES = 2_000
const ACTIONS: ServiceAction[] = ['restart', 'stop', 'start', 'rebuild']

async function post(path: string): Promise<{ok: boolean; message?: string; error?: string}> {
  try {
    const response = await fetch(path, {method: 'POST', headers: {'x-tta-token': token}})
    return (await response.json()) as {ok: boolean; message?: string; error?: string}
  } catch (error) {
    return {ok: false, error: (error as Error).message}
  }
}

const bytes = (n: number | null | undefined): string => {
  if (n === null || n === undefined) return '–'
  const units = ['B', 'KiB', 'MiB', 'GiB']
  let value = n
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit += 1
  }
  return `${value.toFixed(value >= 100 || unit === 0 ? 0 : 1)} ${units[unit]}`
}

const duration = (seconds: number | null): string => {
  if (seconds === null) return '–'
  if (seconds < 60) return `${seconds}s`
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h${String(Math.floor((seconds % 3600) / 60)).padStart(2, '0')}m`
  return `${Math.floor(seconds / 86400)}d${Math.floor((seconds % 86400) / 3600)}h`
}

const clock = (iso: string): string => (iso ? new Date(iso).toLocaleTimeString() : '')

/** One EventSource for the page's lifetime; the browser reconnects by itself (retry: 1 s). */
function useEvents(onState: (s: DashboardState) => void, onAction: (a: ActionEvent) => void): boolean {
  const [connected, setConnected] = useState(false)
  useEffect(() => {
    const source = new EventSource('/api/events')
    source.onopen = () => setConnected(true)
    source.onerror = () => setConnected(false)
    source.addEventListener('state', (e) => onState(JSON.parse((e as MessageEvent<string>).data) as DashboardState))
    source.addEventListener('action', (e) => onAction(JSON.parse((e as MessageEvent<string>).data) as ActionEvent))
    return () => source.close()
  }, [])
  return connected
}

function StatusDot({status}: {status: ServiceStatus['status']}) {
  return <span class={`dot ${status}`} title={status} />
}

function ServiceRow(props: {s: ServiceStatus; extra: ServiceExtra | undefined; selected: boolean; onSelect: () => void; onAction: (a: ServiceAction) => void; pending: ServiceAction | null}) {
  const {s, extra, selected, pending} = props
  const busy = pending ?? extra?.busy ?? null
  const running = s.state === 'running' || s.state === 'restarting'
  const enabled = (a: ServiceAction): boolean => {
    if (busy || !s.container) return false
    if (a === 'start') return !running
    if (a === 'stop' || a === 'restart') return running
    return Boolean(extra?.buildable)
  }
  const graph = extra?.graph
  return (
    <tr class={`service ${selected ? 'selected' : ''}`} data-service={s.service} data-status={s.status} onClick={props.onSelect}>
      <td class="name">
        <StatusDot status={s.status} />
        <strong>{s.service}</strong>
        {s.group === 'monitoring' ? <span class="tag">monitoring</span> : null}
      </td>
      <td class="verdict">
        <span class={`verdict-text ${s.status}`}>{s.status}</span>
        {s.reason ? <div class="reason">{s.reason}</div> : null}
      </td>
      <td class="num" title={s.probe ? `${s.probe.type} ${s.probe.target}` : 'no probe'}>
        {s.probe ? (s.probe.ok ? `${s.probe.latencyMs.toFixed(1)} ms` : 'failed') : '–'}
      </td>
      <td class="num">{s.cpuPercent === null ? '–' : `${s.cpuPercent.toFixed(1)}%`}</td>
      <td class="num">{bytes(s.memoryBytes)}</td>
      <td class="num" data-field="restarts">{s.restarts ?? '–'}</td>
      <td class="num">{duration(s.uptimeSeconds)}</td>
      <td class="urls">
        {s.urls.map((url) =>
          url.startsWith('http') ? (
            <a href={url} target="_blank" rel="noreferrer noopener" onClick={(e) => e.stopPropagation()}>
              {url}
            </a>
          ) : (
            <code>{url}</code>
          ),
        )}
      </td>
      <td class="graph" title={graph ? `level ${graph.level} of the dependency graph` : ''}>
        {graph ? (
          <>
            <span class="level">L{graph.level}</span>
            {graph.dependsOn.length > 0 ? <span> needs {graph.dependsOn.join(', ')}</span> : null}
            {graph.dependents.length > 0 ? <span class="dim"> · needed by {graph.dependents.join(', ')}</span> : null}
          </>
        ) : null}
      </td>
      <td class="actions" onClick={(e) => e.stopPropagation()}>
        {ACTIONS.map((a) => (
          <button type="button" data-action={a} disabled={!enabled(a)} class={busy === a ? 'busy' : ''} onClick={() => props.onAction(a)} title={a === 'rebuild' && !extra?.buildable ? 'no build section' : `${a} ${s.service}`}>
            {busy === a ? `${a}…` : a}
          </button>
        ))}
      </td>
    </tr>
  )
}

function Failure({name, extra}: {name: string; extra: ServiceExtra | undefined}) {
  const failure = extra?.lastFailure
  if (!failure) return <p class="dim">no failure of {name} seen since tta ui started</p>
  return (
    <div class="failure" data-testid="last-failure">
      <p>
        <span class={`verdict-text ${failure.status}`}>{failure.status}</span> at {clock(failure.at)}
        {failure.exitCode !== null ? ` · exit code ${failure.exitCode}` : ''}
        {failure.restarts ? ` · ${failure.restarts} restarts` : ''}
        {failure.reason ? ` · ${failure.reason}` : ''}
      </p>
      {failure.logs.length > 0 ? <pre class="tail">{failure.logs.join('\n')}</pre> : <p class="dim">(no log lines)</p>}
    </div>
  )
}

function Logs({services, service, setService}: {services: string[]; service: string; setService: (s: string) => void}) {
  const [lines, setLines] = useState<LogEntry[]>([])
  const [search, setSearch] = useState('')
  const [stream, setStream] = useState<'all' | 'stdout' | 'stderr'>('all')
  const [follow, setFollow] = useState(true)
  const [problem, setProblem] = useState<string | null>(null)
  const box = useRef<HTMLDivElement>(null)

  useEffect(() => {
    setLines([])
    setProblem(null)
    const source = new EventSource(`/api/logs/stream?service=${encodeURIComponent(service)}&tail=200`)
    source.addEventListener('lines', (e) => {
      const batch = JSON.parse((e as MessageEvent<string>).data) as LogEntry[]
      setLines((old) => {
        const next = old.concat(batch)
        return next.length > MAX_LINES ? next.slice(next.length - MAX_LINES) : next
      })
    })
    source.addEventListener('failure', (e) => setProblem((JSON.parse((e as MessageEvent<string>).data) as {error: string}).error))
    return () => source.close()
  }, [service])

  const matcher = useMemo(() => {
    if (!search) return () => true
    // /re/ is a regular expression; anything else a plain, case-insensitive search.
    const re = /^\/(.+)\/([a-z]*)$/.exec(search)
    if (re) {
      try {
        const pattern = new RegExp(re[1] as string, re[2])
        return (text: string) => pattern.test(text)
      } catch {
        return () => false
      }
    }
    const needle = search.toLowerCase()
    return (text: string) => text.toLowerCase().includes(needle)
  }, [search])
  const shown = lines.filter((l) => (stream === 'all' || l.stream === stream) && matcher(l.message))

  useEffect(() => {
    if (follow && box.current) box.current.scrollTop = box.current.scrollHeight
  })

  return (
    <section class="logs" data-testid="logs">
      <div class="toolbar">
        <select value={service} onChange={(e) => setService((e.target as HTMLSelectElement).value)} aria-label="service">
          <option value="">all services</option>
          {services.map((name) => (
            <option value={name}>{name}</option>
          ))}
        </select>
        <input type="search" placeholder="search (or /regex/)" value={search} onInput={(e) => setSearch((e.target as HTMLInputElement).value)} aria-label="search logs" />
        <select value={stream} onChange={(e) => setStream((e.target as HTMLSelectElement).value as typeof stream)} aria-label="stream">
          <option value="all">stdout + stderr</option>
          <option value="stdout">stdout</option>
          <option value="stderr">stderr</option>
        </select>
        <label>
          <input type="checkbox" checked={follow} onChange={(e) => setFollow((e.target as HTMLInputElement).checked)} /> follow
        </label>
        <button type="button" onClick={() => setLines([])}>
          clear
        </button>
        <span class="dim">
          {shown.length} of {lines.length} lines
        </span>
      </div>
      {problem ? <p class="error">logs: {problem}</p> : null}
      <div class="lines" ref={box}>
        {shown.map((l) => (
          <div class={`line ${l.stream}`}>
            <span class="ts">{l.time.slice(11, 23)}</span>
            {service ? null : <span class="svc">{l.service}</span>}
            <span class="msg">{l.message}</span>
          </div>
        ))}
      </div>
    </section>
  )
}

function Environment({state, onBackup, backupPending}: {state: DashboardState; onBackup: () => void; backupPending: boolean}) {
  const {monitoring, backups} = state
  const links = Object.entries(monitoring.links)
  return (
    <aside class="env">
      <h2>Environment</h2>
      <p>
        mode <strong data-testid="mode">{state.mode}</strong>
        {state.hotReload ? ' (hot reload)' : ''} · engine <code>{state.status.engine}</code>
      </p>
      <h3>Monitoring</h3>
      {links.length === 0 ? (
        <p class="dim">not running (`tta monitoring` starts it)</p>
      ) : (
        <p>
          {links.map(([name, url]) => (
            <a href={url} target="_blank" rel="noreferrer noopener" class="link">
              {name}
            </a>
          ))}
        </p>
      )}
      {monitoring.alerts ? (
        monitoring.alerts.length === 0 ? (
          <p class="ok">no alerts firing</p>
        ) : (
          <ul class="alerts" data-testid="alerts">
            {monitoring.alerts.map((a) => (
              <li class={a.severity ?? ''}>
                <strong>{a.name}</strong> {a.severity ? <span class="tag">{a.severity}</span> : null} {a.summary ?? ''} <span class="dim">since {clock(a.startsAt)}</span>
              </li>
            ))}
          </ul>
        )
      ) : monitoring.alertsError ? (
        <p class="error">alerts: {monitoring.alertsError}</p>
      ) : null}
      <h3>Backups</h3>
      <p>
        <button type="button" data-action="backup" disabled={backups.running || backupPending} onClick={onBackup}>
          {backups.running || backupPending ? 'backing up…' : 'backup now'}
        </button>{' '}
        <span class="dim" title={backups.dir}>
          {backups.list.length} in {backups.dir}
        </span>
      </p>
      {backups.error ? <p class="error">{backups.error}</p> : null}
      <ul class="backups" data-testid="backups">
        {backups.list.slice(0, 8).map((b) => (
          <li>
            <code>{b.id}</code> {b.services ? Object.keys(b.services).join(', ') : (b.problems ?? []).join('; ')} · {bytes(b.bytes)}
            {b.complete === false ? <span class="error"> partial</span> : null}
          </li>
        ))}
      </ul>
      {state.secrets ? (
        <>
          <h3>Secrets</h3>
          <table class="secrets">
            {state.secrets.map((s) => (
              <tr>
                <td>{s.name}</td>
                <td>
                  <code>{s.value}</code>
                </td>
              </tr>
            ))}
          </table>
        </>
      ) : null}
    </aside>
  )
}

function App() {
  const [state, setState] = useState<DashboardState | undefined>(initial)
  const [actions, setActions] = useState<ActionEvent[]>([])
  const [pending, setPending] = useState<Record<string, ServiceAction | 'backup'>>({})
  const [selected, setSelected] = useState<string>('')
  const connected = useEvents(setState, (event) => setActions((old) => [event, ...old].slice(0, 30)))

  useEffect(() => {
    if (state && connected && window.ttaInteractiveMs === undefined) {
      window.ttaInteractiveMs = performance.now()
      document.documentElement.dataset.ready = 'true'
    }
  }, [state, connected])

  const run = async (target: string, action: ServiceAction | 'backup'): Promise<void> => {
    setPending((p) => ({...p, [target]: action}))
    const result = await post(action === 'backup' ? '/api/backups' : `/api/services/${encodeURIComponent(target)}/${action}`)
    setPending((p) => {
      const next = {...p}
      delete next[target]
      return next
    })
    if (!result.ok) setActions((old) => [{id: -Date.now(), target, action, phase: 'failed' as const, message: result.error ?? 'failed', at: new Date().toISOString()}, ...old].slice(0, 30))
  }

  if (!state) return <p class="booting">waiting for the first status…</p>
  const {status} = state
  const names = status.services.map((s) => s.service)
  const healthy = status.counts.healthy
  return (
    <>
      <header>
        <h1>tta</h1>
        <span>
          project <strong>{state.project}</strong>
        </span>
        <span>
          mode <strong>{state.mode}</strong>
        </span>
        <span class={status.healthy ? 'ok' : 'error'} data-testid="summary">
          {healthy}/{status.counts.total} healthy
        </span>
        <span class={connected ? 'live ok' : 'live error'} data-testid="connection">
          {connected ? '● live' : '○ reconnecting'}
        </span>
        <span class="dim">updated {clock(status.generatedAt)}</span>
      </header>
      <main>
        <section class="services">
          {status.services.length === 0 ? (
            <p class="dim">no containers in project {state.project}: start the stack with `tta dev`</p>
          ) : (
            <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th>service</th>
                  <th>health</th>
                  <th>probe</th>
                  <th>cpu</th>
                  <th>memory</th>
                  <th>restarts</th>
                  <th>uptime</th>
                  <th>urls</th>
                  <th>dependencies</th>
                  <th>actions</th>
                </tr>
              </thead>
              <tbody>
                {status.services.map((s) => (
                  <ServiceRow
                    s={s}
                    extra={state.services[s.service]}
                    selected={selected === s.service}
                    onSelect={() => setSelected(selected === s.service ? '' : s.service)}
                    onAction={(a) => void run(s.service, a)}
                    pending={(pending[s.service] as ServiceAction | undefined) ?? null}
                  />
                ))}
              </tbody>
            </table>
            </div>
          )}
          {selected ? (
            <div class="detail">
              <h3>last failure of {selected}</h3>
              <Failure name={selected} extra={state.services[selected]} />
            </div>
          ) : null}
          <Logs services={names} service={selected} setService={setSelected} />
        </section>
        <div class="side">
          <Environment state={state} onBackup={() => void run('backup', 'backup')} backupPending={pending.backup !== undefined} />
          <aside class="activity">
            <h2>Activity</h2>
            {actions.length === 0 ? <p class="dim">actions you start show here</p> : null}
            <ul data-testid="activity">
              {actions.map((a) => (
                <li class={a.phase}>
                  <span class="dim">{clock(a.at)}</span> {a.phase === 'failed' ? '✖' : a.phase === 'done' ? '✔' : '…'} <pre>{a.message}</pre>
                </li>
              ))}
            </ul>
          </aside>
        </div>
      </main>
    </>
  )
}

const root = document.getElementById('app') as HTMLElement
// The "loading" placeholder goes: render() adds to what the element holds.
root.textContent = ''
render(<App />, root)
