/** The schema building blocks the service and project schemas share (scalars, lists, `KEY=value` maps). */
import type {Schema} from '../schema.js'

export const str: Schema = 'string'
export const int: Schema = 'int'
export const bool: Schema = 'bool'
export const num: Schema = 'number'
export const strList: Schema = {list: str}
export const strOrList: Schema = {oneOf: [str, strList]}
export const scalarDict: Schema = {dict: {nullable: 'scalar'}}
/** `KEY=value` list or `KEY: value` mapping (environment, labels, args, sysctls). */
export const listOrDict: Schema = {oneOf: [{list: 'scalar'}, scalarDict]}
export const command: Schema = {nullable: {oneOf: [str, strList]}}

/** `external: true`, or the deprecated `external: {name: x}` (networks, volumes, secrets). */
export const legacyExternal: Schema = {oneOf: [bool, {map: {name: str}}]}
