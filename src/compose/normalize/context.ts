/** The state one normalisation run threads through its steps: inputs, collected errors, and references to check later. */
import {InputError} from '../../errors.js'
import type {Lookup} from '../interpolate.js'
import type {Pos} from '../tree.js'

export interface BuildContext {
  workingDir: string
  lookup: Lookup
  projectName: string | undefined
  profiles: string[]
  errors: InputError[]
  warnings: string[]
  /** Filled with where run-time-sensitive settings were written (LoadedProject.sources). */
  sources?: Record<string, string>
}

/** A BuildContext seen from one service (or the top level, with an empty path). */
export class Ctx {
  constructor(
    readonly b: BuildContext,
    readonly servicePath: string,
  ) {}

  error(detail: string, node: {pos: Pos} | Pos, keyPath: string): void {
    const pos = 'pos' in node ? node.pos : node
    this.b.errors.push(new InputError(detail, pos, keyPath))
  }
}

/** A name a service uses (a volume, network, secret...), with where, for the whole-project checks. */
export interface UsedRef {
  name: string
  pos: Pos
  keyPath: string
}

export interface ServiceRefs {
  /** Dependencies a service implies (network_mode/ipc/pid `service:X`, links, volumes_from). */
  implicitDeps: Map<string, UsedRef>
  volumes: UsedRef[]
  networks: UsedRef[]
  secrets: UsedRef[]
  configs: UsedRef[]
}
