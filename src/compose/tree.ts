/**
 * A position-carrying tree of one YAML document. The loader works on these nodes (not plain JS
 * values) so that every error, even after overlays are merged, can name the file, line and column
 * of the value that caused it.
 */
import {Alias, isAlias, isMap, isScalar, isSeq, LineCounter, parseAllDocuments, Scalar} from 'yaml'
import type {Document, Node as YamlNode, ScalarTag, Tags} from 'yaml'

import {InputError, InputErrors, type SourcePosition} from '../errors.js'

export type Pos = SourcePosition

/** Compose's merge-control tags. */
export type MergeTag = '!reset' | '!override'

interface NodeBase {
  pos: Pos
  tag?: MergeTag
}

export interface MapEntry {
  key: string
  keyPos: Pos
  value: PNode
  /**
   * How the entry was written, relative to its parent's key path, when it came from a list form
   * (`depends_on: [db]` -> "[0]"); errors then name the node the user wrote.
   */
  pathSuffix?: string
}

/** Key path of a mapping entry, following how the user wrote it. */
export function entryPath(parent: string, e: MapEntry): string {
  if (e.pathSuffix !== undefined) return `${parent}${e.pathSuffix}`
  return parent === '' ? e.key : `${parent}.${e.key}`
}

export interface PMap extends NodeBase {
  kind: 'map'
  entries: Map<string, MapEntry>
}

export interface PSeq extends NodeBase {
  kind: 'seq'
  items: PNode[]
}

export type ScalarValue = string | number | boolean | null

export interface PScalar extends NodeBase {
  kind: 'scalar'
  value: ScalarValue
  /** A YAML float as Go prints it ("1e+06"), where Compose turns the value into a string. */
  text?: string
}

/** A scalar's value as the string Compose would make of it. */
export function scalarString(n: PScalar): string {
  return n.text ?? String(n.value)
}

/** Go's shortest %v of a float64: exponent form below 1e-4 and from 1e6 (two-digit exponent at least). */
export function goFloat(v: number): string {
  if (!Number.isFinite(v)) return String(v)
  const [mantissa = '', e = '0'] = v.toExponential().split('e')
  const exp = Number(e)
  if (v !== 0 && (exp < -4 || exp >= 6)) return `${mantissa}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`
  return String(v)
}

export type PNode = PMap | PSeq | PScalar

export function mapNode(pos: Pos, entries: MapEntry[] = [], tag?: MergeTag): PMap {
  const m: PMap = {kind: 'map', pos, entries: new Map()}
  for (const e of entries) m.entries.set(e.key, e)
  if (tag) m.tag = tag
  return m
}

export function seqNode(pos: Pos, items: PNode[] = []): PSeq {
  return {kind: 'seq', pos, items}
}

export function scalarNode(pos: Pos, value: ScalarValue): PScalar {
  return {kind: 'scalar', pos, value}
}

/** Deep copy, so that merging never mutates a node shared through a YAML alias. */
export function cloneNode<T extends PNode>(n: T): T {
  if (n.kind === 'scalar') return {...n}
  if (n.kind === 'seq') return {...n, items: n.items.map((i) => cloneNode(i))}
  const entries = new Map<string, MapEntry>()
  for (const [k, e] of n.entries) entries.set(k, {...e, value: cloneNode(e.value)})
  return {...n, entries}
}

/** Plain JS value of a node (positions dropped). */
export function toPlain(n: PNode): unknown {
  if (n.kind === 'scalar') return n.value
  if (n.kind === 'seq') return n.items.map((i) => toPlain(i))
  const o: Record<string, unknown> = {}
  for (const [k, e] of n.entries) o[k] = toPlain(e.value)
  return o
}

export function describeKind(n: PNode): string {
  if (n.kind === 'map') return 'a mapping'
  if (n.kind === 'seq') return 'a sequence'
  if (n.value === null) return 'null'
  return `a ${typeof n.value}`
}

/** Strip the yaml library's " at line X, column Y:" tail and code excerpt from its messages. */
function shortYamlMessage(message: string): string {
  const first = message.split('\n')[0] ?? message
  return first.replace(/ at line \d+, column \d+:?$/, '')
}

/**
 * YAML 1.1 octal (`0440`), which Compose's YAML library still reads as octal: a file mode written
 * the old way must not become decimal 440. Tried before the YAML 1.2 core int tag.
 */
const yaml11Octal: ScalarTag = {
  identify: (v) => typeof v === 'number' || typeof v === 'bigint',
  default: true,
  tag: 'tag:yaml.org,2002:int',
  test: /^[-+]?0[0-7]+$/,
  // A bigint like every other integer here, so that only floats reach the tree as JS numbers.
  resolve: (s) => (s.startsWith('-') ? -BigInt(`0o${s.replace(/^-0+/, '') || '0'}`) : BigInt(`0o${s.replace(/^\+?0+/, '') || '0'}`)),
}

const INT64_MIN = -(2n ** 63n)
const UINT64_MAX = 2n ** 64n - 1n

/**
 * An integer as Compose's Go YAML library reads it: exact within int64/uint64 (kept as its decimal
 * digits when beyond 2^53, where a JS number would round), a float beyond that.
 */
function integerValue(v: bigint): ScalarValue {
  if (v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(v)
  if (v >= INT64_MIN && v <= UINT64_MAX) return v.toString()
  return Number(v)
}

/**
 * Parse every YAML document of a file into PNode trees (a null scalar for an empty document; no
 * entries for a file without any: empty, or only comments). Anchors/aliases are resolved, merge keys (`<<`) are applied as YAML 1.1
 * defines them (explicit keys win, earlier merge sources win over later), duplicate keys and
 * non-string keys are errors (as in Compose).
 */
export function parseYamlDocuments(text: string, file: string): PNode[] {
  const lineCounter = new LineCounter()
  const docs = parseAllDocuments(text, {
    lineCounter,
    uniqueKeys: false,
    prettyErrors: true,
    intAsBigInt: true,
    customTags: (tags: Tags) => [yaml11Octal, ...tags],
  })
  // parseAllDocuments returns an EmptyStream (an array) for a file with no document at all.
  const list: Document.Parsed[] = Array.isArray(docs) ? docs : [docs]
  const out: PNode[] = []
  for (const doc of list) out.push(convertDocument(doc, text, file, lineCounter))
  return out
}

function convertDocument(doc: Document.Parsed, text: string, file: string, lineCounter: LineCounter): PNode {
  const posAt = (offset: number): Pos => {
    const lp = lineCounter.linePos(offset)
    return {file, line: lp.line, column: lp.col}
  }
  if (doc.errors.length > 0) {
    throw new InputErrors(
      doc.errors.map((e) => {
      const lp = e.linePos?.[0]
      let pos = lp ? {file, line: lp.line, column: lp.col} : posAt(e.pos[0])
      const quote = /Missing closing (["'])quote/.exec(e.message)?.[1]
      if (quote) {
        // The parser notices at the end of input; point at the quote that was never closed.
        let at = text.lastIndexOf(quote, e.pos[0] - 1)
        while (at > 0 && quote === '"' && text[at - 1] === '\\') at = text.lastIndexOf(quote, at - 2)
        if (at >= 0) pos = posAt(at)
      }
      const detail = quote ? `unclosed ${quote === '"' ? 'double' : 'single'} quote` : shortYamlMessage(e.message)
      return new InputError(detail, pos)
      }),
    )
  }

  const errors: InputError[] = []
  const memo = new Map<YamlNode, PNode>()
  const resolving = new Set<YamlNode>()

  const tagOf = (n: YamlNode): MergeTag | undefined =>
    n.tag === '!reset' || n.tag === '!override' ? n.tag : undefined

  const convert = (node: YamlNode | null | undefined, fallback: Pos, keyPath: string): PNode => {
    if (node === null || node === undefined) return scalarNode(fallback, null)
    if (isAlias(node)) {
      const target = (node as Alias).resolve(doc)
      if (!target) {
        errors.push(new InputError(`unknown anchor "${(node as Alias).source}"`, posAt(node.range?.[0] ?? 0)))
        return scalarNode(fallback, null)
      }
      // An alias is a reference to the anchored value; each use gets its own copy.
      return cloneNode(convert(target, fallback, keyPath))
    }
    const cached = memo.get(node)
    if (cached) return cached
    if (resolving.has(node)) {
      errors.push(new InputError('recursive alias', posAt(node.range?.[0] ?? 0)))
      return scalarNode(fallback, null)
    }
    resolving.add(node)
    const pos = node.range ? posAt(node.range[0]) : fallback
    let out: PNode
    if (isMap(node)) {
      const explicit: MapEntry[] = []
      const merged: MapEntry[] = []
      for (const pair of node.items) {
        const k = pair.key as YamlNode | null
        const keyPos = k?.range ? posAt(k.range[0]) : pos
        const keyScalar = k && isScalar(k) ? (k as Scalar) : null
        if (keyScalar && keyScalar.value === '<<' && keyScalar.type === Scalar.PLAIN) {
          const v = pair.value as YamlNode | null
          const sources = v && isSeq(v) ? v.items.map((i) => convert(i as YamlNode, keyPos, keyPath)) : [convert(v, keyPos, keyPath)]
          for (const src of sources) {
            if (src.kind !== 'map') {
              errors.push(new InputError('merge key "<<" needs a mapping or an alias to one', src.pos))
              continue
            }
            for (const e of src.entries.values()) if (!merged.some((m) => m.key === e.key)) merged.push(e)
          }
          continue
        }
        if (!keyScalar || keyScalar.value === null || typeof keyScalar.value === 'object') {
          errors.push(new InputError(keyScalar ? `mapping key ${keyScalar.source || 'null'} is null, not a string; quote it` : 'mapping keys must be scalars', keyPos, keyPath || undefined))
          continue
        }
        if (typeof keyScalar.value !== 'string') {
          // Compose refuses keys YAML reads as numbers or booleans ("Non-string key").
          const kind = typeof keyScalar.value === 'boolean' ? 'a boolean' : 'a number'
          errors.push(new InputError(`mapping key ${keyScalar.source} is ${kind}, not a string; quote it ("${keyScalar.source}")`, keyPos, keyPath || undefined))
          continue
        }
        const key = String(keyScalar.value)
        const childPath = keyPath === '' ? key : `${keyPath}.${key}`
        if (explicit.some((e) => e.key === key)) {
          errors.push(new InputError(`duplicate key "${key}"`, keyPos, childPath))
          continue
        }
        explicit.push({key, keyPos, value: convert(pair.value as YamlNode, keyPos, childPath)})
      }
      const m = mapNode(pos, [], tagOf(node))
      for (const e of explicit) m.entries.set(e.key, e)
      for (const e of merged) if (!m.entries.has(e.key)) m.entries.set(e.key, {...e, value: cloneNode(e.value)})
      out = m
    } else if (isSeq(node)) {
      const s = seqNode(
        pos,
        node.items.map((i, n) => convert(i as YamlNode, pos, `${keyPath}[${n}]`)),
      )
      const t = tagOf(node)
      if (t) s.tag = t
      out = s
    } else if (isScalar(node)) {
      const v = node.value
      let value: ScalarValue
      if (v === null || v === undefined) value = null
      else if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') value = v
      else if (typeof v === 'bigint') value = integerValue(v)
      else value = String(v)
      const s = scalarNode(pos, value)
      if (typeof v === 'number') s.text = goFloat(v)
      const t = tagOf(node)
      if (t) s.tag = t
      out = s
    } else {
      out = scalarNode(pos, null)
    }
    resolving.delete(node)
    memo.set(node, out)
    return out
  }

  if (doc.contents === null) return scalarNode(posAt(doc.range[0]), null)
  const root = convert(doc.contents as YamlNode, {file, line: 1, column: 1}, '')
  if (errors.length > 0) throw new InputErrors(errors)
  return root
}
