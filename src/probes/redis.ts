import {exchange, formatTarget} from './socket.js'
import type {ProbeResult} from './types.js'

/** A command in RESP, the way redis-cli sends it: an array of bulk strings. */
export function encodeCommand(args: readonly string[]): Buffer {
  return Buffer.from(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`)
}

export interface RedisReply {
  ok: boolean
  text: string
}

/**
 * The first `count` replies in `data`, if all have arrived. AUTH and PING answer with simple
 * strings (`+OK`, `+PONG`) or errors (`-NOAUTH …`); a bulk string is read too, for servers that
 * answer PING that way through a proxy.
 */
export function parseReplies(data: Buffer, count: number): RedisReply[] | undefined {
  const replies: RedisReply[] = []
  let offset = 0
  while (replies.length < count) {
    const eol = data.indexOf('\r\n', offset)
    if (eol < 0) return undefined
    const type = String.fromCharCode(data[offset] ?? 0)
    const line = data.toString('utf8', offset + 1, eol)
    if (type === '+' || type === ':') {
      replies.push({ok: true, text: line})
      offset = eol + 2
    } else if (type === '-') {
      replies.push({ok: false, text: line})
      offset = eol + 2
    } else if (type === '$') {
      const length = Number(line)
      if (length < 0) {
        replies.push({ok: true, text: ''})
        offset = eol + 2
        continue
      }
      if (data.length < eol + 2 + length + 2) return undefined
      replies.push({ok: true, text: data.toString('utf8', eol + 2, eol + 2 + length)})
      offset = eol + 2 + length + 2
    } else {
      // Not RESP at all (an HTTP server on the port, say): report what came back.
      replies.push({ok: false, text: `not a redis answer: ${JSON.stringify(data.toString('latin1', offset, Math.min(data.length, offset + 24)))}`})
      return replies.length === count ? replies : [...replies, ...Array.from({length: count - replies.length}, () => ({ok: false, text: 'no answer'}))]
    }
  }
  return replies
}

/** The verdict on the replies to `[AUTH,] PING`. */
export function judgeRedis(replies: RedisReply[], withAuth: boolean): {ok: boolean; detail?: string; error?: string} {
  const auth = withAuth ? replies[0] : undefined
  const ping = replies[withAuth ? 1 : 0]
  if (ping?.ok && ping.text === 'PONG') {
    // A password we sent to a server without one still leaves PING working.
    return {ok: true, detail: auth && !auth.ok ? 'PONG (no password needed)' : 'PONG'}
  }
  if (auth && !auth.ok && /WRONGPASS|invalid password|invalid username-password/i.test(auth.text)) {
    return {ok: false, error: `authentication failed: ${auth.text} (set probes.<service>.password in tta.config.yaml)`}
  }
  const text = ping?.text ?? 'no answer'
  if (/^NOAUTH/.test(text)) return {ok: false, error: `${text} (the probe has no password: set probes.<service>.password in tta.config.yaml)`}
  if (/^LOADING/.test(text)) return {ok: false, error: `still loading its dataset: ${text}`}
  return {ok: false, error: ping?.ok ? `unexpected answer to PING: ${text}` : text}
}

/** Redis PING over RESP, after AUTH when a password is known. */
export async function probeRedis(spec: {host: string; port: number; password?: string; timeoutMs: number}): Promise<ProbeResult> {
  const target = formatTarget(spec.host, spec.port)
  const withAuth = spec.password !== undefined && spec.password !== ''
  const payload = Buffer.concat([...(withAuth ? [encodeCommand(['AUTH', spec.password as string])] : []), encodeCommand(['PING'])])
  const count = withAuth ? 2 : 1
  const answer = await exchange(spec.host, spec.port, payload, (data) => parseReplies(data, count) !== undefined, spec.timeoutMs)
  const verdict = judgeRedis(parseReplies(answer.data, count) ?? [], withAuth)
  return {type: 'redis', target, latencyMs: answer.latencyMs, ...verdict}
}
