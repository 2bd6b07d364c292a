import {existsSync} from 'node:fs'
import {isAbsolute, join, resolve} from 'node:path'
import {isMap, isScalar, isSeq, type Node, type Pair} from 'yaml'

import {InputError, InputErrors} from '../errors.js'
import {parseBackupConfig, type BackupConfig} from './backup-config.js'
import type {ProbeOverride} from '../probes/types.js'
import {parseDeployTargets, type DeployTarget} from './deploy-config.js'
import {parseProbes} from './probes-config.js'
import {readSourceDocument, type SourceDocument} from './yaml-source.js'
import {WORKSPACE_CONFIG_FILE} from './root.js'
import {isValidProjectName} from '../compose/project-name.js'
import {parseImageReference} from '../compose/image-ref.js'


/** The optional `tta.config.yaml` at the workspace root, validated. */
export interface WorkspaceConfig {
  /** Absolute path of the file it came from, when there is one. */
  file?: string
  projectName?: string
  /** Image name -> image name, applied before anything is created (mirrors, stand-ins). */
  images: Record<string, string>
  /** Extra compose overlays, absolute, merged after the bundled files. */
  composeFiles: string[]
  /** `deploy:` targets by name (tta deploy ENV); absent when the file has none. */
  deploy?: Record<string, DeployTarget>
  /** `probes:` overrides by service name (tta status); absent when the file has none. */
  probes?: Record<string, ProbeOverride>
  /** `backup:` defaults for tta backup (dir, keep, maxAge); absent when the file has none. */
  backup?: BackupConfig
  /** `dev:` defaults for tta dev (`watch: true` syncs instead of bind-mounting sources). */
  dev?: {watch?: boolean}
}


/** Reads `<dir>/tta.config.yaml` if present. Throws InputError(s) naming file:line and the key. */
export function loadWorkspaceConfig(dir: string): WorkspaceConfig {
  const file = join(dir, WORKSPACE_CONFIG_FILE)
  if (!existsSync(file)) return {images: {}, composeFiles: []}
  const src = readSourceDocument(file)
  const errors: InputError[] = []
  const config: WorkspaceConfig = {file, images: {}, composeFiles: []}
  const root = src.doc.contents
  if (root === null || (isScalar(root) && (root.value === null || root.value === ''))) return config
  if (!isMap(root)) {
    throw new InputError('must be a mapping of settings (images, composeFiles, projectName)', src.position(root))
  }
  for (const pair of root.items as Pair<Node, Node>[]) {
    const key = isScalar(pair.key) ? String(pair.key.value) : ''
    switch (key) {
      case 'projectName': {
        const value = scalarString(src, pair.value, key, errors)
        if (value === undefined) break
        if (isValidProjectName(value)) config.projectName = value
        else
          errors.push(
            new InputError(
              'must be lowercase letters, digits, "-" or "_", starting with a letter or digit',
              src.position(pair.value),
              key,
            ),
          )
        break
      }
      case 'images': {
        if (!isMap(pair.value)) {
          errors.push(new InputError('must be a mapping of image name to image name', src.position(pair.value ?? pair.key), key))
          break
        }
        for (const entry of pair.value.items as Pair<Node, Node>[]) {
          const from = isScalar(entry.key) ? String(entry.key.value) : ''
          const to = scalarString(src, entry.value, `images.${from}`, errors)
          if (to === undefined) continue
          // Only the target is checked: the source must match a compose file's `image:` as
          // written, and TTA's own files hold invalid ones (prom/prometheus:v2.48.1:v2.45.0).
          try {
            parseImageReference(to)
            config.images[from] = to
          } catch (error) {
            errors.push(new InputError((error as Error).message, src.position(entry.value), `images.${from}`))
          }
        }
        break
      }
      case 'composeFiles': {
        if (!isSeq(pair.value)) {
          errors.push(new InputError('must be a list of compose file paths', src.position(pair.value ?? pair.key), key))
          break
        }
        pair.value.items.forEach((item, i) => {
          const path = scalarString(src, item as Node, `composeFiles[${i}]`, errors)
          if (path === undefined) return
          const abs = isAbsolute(path) ? path : resolve(dir, path)
          if (existsSync(abs)) config.composeFiles.push(abs)
          else errors.push(new InputError(`file not found: ${abs}`, src.position(item as Node), `composeFiles[${i}]`))
        })
        break
      }
      case 'deploy':
        config.deploy = parseDeployTargets(src, pair.value, dir, errors)
        break
      case 'probes':
        config.probes = parseProbes(src, pair.value, errors)
        break
      case 'backup':
        config.backup = parseBackupConfig(src, pair.value, errors)
        break
      case 'dev':
        config.dev = parseDevConfig(src, pair.value, errors)
        break
      default:
        errors.push(
          new InputError(
            `unknown key "${key}" (supported: projectName, images, composeFiles, deploy, probes, backup, dev)`,
            src.position(pair.key),
            key,
          ),
        )
    }
  }
  if (errors.length === 1) throw errors[0]
  if (errors.length > 1) throw new InputErrors(errors)
  return config
}

function scalarString(src: SourceDocument, node: Node | null | undefined, keyPath: string, errors: InputError[]): string | undefined {
  if (isScalar(node) && (typeof node.value === 'string' || typeof node.value === 'number') && String(node.value) !== '') {
    return String(node.value)
  }
  errors.push(new InputError('must be a non-empty string', src.position(node), keyPath))
  return undefined
}

function parseDevConfig(src: SourceDocument, node: Node | null, errors: InputError[]): {watch?: boolean} | undefined {
  if (!isMap(node)) {
    errors.push(new InputError('must be a mapping (watch: true|false)', src.position(node), 'dev'))
    return undefined
  }
  const out: {watch?: boolean} = {}
  for (const pair of node.items as Pair<Node, Node>[]) {
    const key = isScalar(pair.key) ? String(pair.key.value) : ''
    if (key !== 'watch') {
      errors.push(new InputError(`unknown key "${key}" (supported: watch)`, src.position(pair.key), `dev.${key}`))
    } else if (isScalar(pair.value) && typeof pair.value.value === 'boolean') {
      out.watch = pair.value.value
    } else {
      errors.push(new InputError('must be true or false', src.position(pair.value ?? pair.key), 'dev.watch'))
    }
  }
  return out
}
