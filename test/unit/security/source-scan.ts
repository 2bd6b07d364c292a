// Reads tta's own sources for the static security checks: a TypeScript syntax walk (comments and
// strings are never mistaken for code), not text matching.
import {readdirSync, readFileSync} from 'node:fs'
import {dirname, join, relative, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import ts from 'typescript'

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..')

/** Every .ts file under src/, relative to the repository root. */
export function sourceFiles(dir = join(repoRoot, 'src')): string[] {
  return readdirSync(dir, {withFileTypes: true}).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return sourceFiles(path)
    return entry.name.endsWith('.ts') ? [relative(repoRoot, path)] : []
  })
}

export interface Finding {
  where: string
  what: string
}

const CHILD_PROCESS = new Set(['child_process', 'node:child_process'])
const SHELL_RUNNERS = new Set(['exec', 'execSync'])
const EXECA_SHELL_APIS = new Set(['execaCommand', 'execaCommandSync', '$', '$sync'])
const TEMPLATE_TAGS = new Set(['$', 'execa', 'execaSync', 'execaNode', '$sync'])

/**
 * Ways a local shell could run a string: a `shell` option other than `false`, execa's command-string
 * and template APIs (`execaCommand`, `$`, execa`...`), child_process `exec`/`execSync`.
 */
export function shellFindings(code: string, file = 'input.ts'): Finding[] {
  const source = ts.createSourceFile(file, code, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS)
  const findings: Finding[] = []
  const at = (node: ts.Node, what: string): void => {
    const {line} = source.getLineAndCharacterOfPosition(node.getStart(source))
    findings.push({where: `${file}:${line + 1}`, what})
  }
  const moduleOf = (node: ts.Node): string | undefined => {
    // `import {x} from 'm'` and `const {x} = await import('m')` / `require('m')`.
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) return node.moduleSpecifier.text
    if (ts.isVariableDeclaration(node) && node.initializer) {
      let init: ts.Expression = node.initializer
      if (ts.isAwaitExpression(init)) init = init.expression
      if (ts.isCallExpression(init) && init.arguments.length === 1 && ts.isStringLiteral(init.arguments[0] as ts.Expression)) {
        const callee = init.expression
        if (callee.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(callee) && callee.text === 'require')) return (init.arguments[0] as ts.StringLiteral).text
      }
    }
    return undefined
  }
  const childProcessNamespaces = new Set<string>()
  const visit = (node: ts.Node): void => {
    const module = moduleOf(node)
    if (module !== undefined) {
      const names: Array<{name: string; node: ts.Node}> = []
      if (ts.isImportDeclaration(node)) {
        const bindings = node.importClause?.namedBindings
        if (bindings && ts.isNamedImports(bindings)) for (const el of bindings.elements) names.push({name: (el.propertyName ?? el.name).text, node: el})
        if (bindings && ts.isNamespaceImport(bindings) && CHILD_PROCESS.has(module)) childProcessNamespaces.add(bindings.name.text)
        if (node.importClause?.name && CHILD_PROCESS.has(module)) childProcessNamespaces.add(node.importClause.name.text)
      } else if (ts.isVariableDeclaration(node)) {
        if (ts.isObjectBindingPattern(node.name)) {
          for (const el of node.name.elements) {
            const key = el.propertyName ?? el.name
            if (ts.isIdentifier(key)) names.push({name: key.text, node: el})
          }
        } else if (ts.isIdentifier(node.name) && CHILD_PROCESS.has(module)) childProcessNamespaces.add(node.name.text)
      }
      for (const {name, node: el} of names) {
        if (CHILD_PROCESS.has(module) && SHELL_RUNNERS.has(name)) at(el, `${name} from ${module} runs a shell string`)
        if (module === 'execa' && EXECA_SHELL_APIS.has(name)) at(el, `${name} from execa parses a command string`)
      }
    }
    if (ts.isPropertyAssignment(node) && node.name.getText(source) === 'shell' && node.initializer.kind !== ts.SyntaxKind.FalseKeyword) {
      at(node, `shell: ${node.initializer.getText(source)}`)
    }
    if (ts.isShorthandPropertyAssignment(node) && node.name.text === 'shell') at(node, 'shell option')
    if (ts.isTaggedTemplateExpression(node)) {
      const tag = ts.isCallExpression(node.tag) ? node.tag.expression : node.tag
      if (ts.isIdentifier(tag) && TEMPLATE_TAGS.has(tag.text)) at(node, `${tag.text}\`...\` parses a command string`)
    }
    if (ts.isIdentifier(node) && (node.text === 'execaCommand' || node.text === 'execaCommandSync')) at(node, `${node.text} parses a command string`)
    if (ts.isPropertyAccessExpression(node) && ts.isIdentifier(node.expression) && childProcessNamespaces.has(node.expression.text) && SHELL_RUNNERS.has(node.name.text)) {
      at(node, `${node.expression.text}.${node.name.text} runs a shell string`)
    }
    ts.forEachChild(node, visit)
  }
  visit(source)
  // An import and its use can both be reported on one line: once is enough.
  return findings.filter((f, i) => findings.findIndex((g) => g.where === f.where && g.what === f.what) === i)
}

const SHELLS = new Set(['sh', 'bash', 'ash', 'dash', '/bin/sh', '/bin/bash'])

/**
 * Shell scripts built from data: an argument array `[SHELL, '-c', SCRIPT, ...]` (run locally or in a
 * container) whose SCRIPT is a template with substitutions or a concatenation. Values belong after
 * the script, as positional parameters ("$1", "$@"), where no shell parses them.
 */
export function shellScriptInterpolations(code: string, file = 'input.ts'): Finding[] {
  const source = ts.createSourceFile(file, code, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS)
  const findings: Finding[] = []
  const text = (node: ts.Node | undefined): string | undefined => (node && (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) ? node.text : undefined)
  const visit = (node: ts.Node): void => {
    if (ts.isArrayLiteralExpression(node)) {
      const elements = node.elements
      elements.forEach((element, i) => {
        const shell = text(elements[i - 2])
        if (i < 2 || shell === undefined || !SHELLS.has(shell) || text(elements[i - 1]) !== '-c') return
        const built = ts.isTemplateExpression(element) || (ts.isBinaryExpression(element) && element.operatorToken.kind === ts.SyntaxKind.PlusToken)
        if (!built) return
        const {line} = source.getLineAndCharacterOfPosition(element.getStart(source))
        findings.push({where: `${file}:${line + 1}`, what: `${shell} -c with a script built from values: ${element.getText(source).slice(0, 60)}`})
      })
    }
    ts.forEachChild(node, visit)
  }
  visit(source)
  return findings
}

/** Places src/ runs a program (execa, child_process), to prove the scan saw them. */
export function processCalls(code: string): number {
  return (code.match(/\bexeca\(|\bspawn\(|\bexecFile\(/g) ?? []).length
}

export function readSource(file: string): string {
  return readFileSync(join(repoRoot, file), 'utf8')
}
