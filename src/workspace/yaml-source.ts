import {readFileSync} from 'node:fs'
import {LineCounter, parseDocument, isMap, isScalar, isSeq, type Node, type Document} from 'yaml'

import {InputError, type SourcePosition} from '../errors.js'

/** A YAML file parsed with positions, for small config files that need file:line errors. */
export interface SourceDocument {
  file: string
  doc: Document.Parsed
  position(node: Node | null | undefined): SourcePosition
}

export function readSourceDocument(file: string): SourceDocument {
  const text = readFileSync(file, 'utf8')
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, {lineCounter, uniqueKeys: true, prettyErrors: false})
  const position = (node: Node | null | undefined): SourcePosition => {
    const offset = node?.range?.[0] ?? 0
    const {line, col} = lineCounter.linePos(offset)
    return {file, line, column: col}
  }
  const first = doc.errors[0]
  if (first) {
    const {line, col} = lineCounter.linePos(first.pos[0])
    throw new InputError(`invalid YAML: ${first.message.split('\n')[0]}`, {file, line, column: col})
  }
  return {file, doc, position}
}

export {isMap, isScalar, isSeq}
