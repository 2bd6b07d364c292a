import {existsSync, readFileSync} from 'node:fs'

import {parseDotenv} from '../compose/dotenv.js'
import {GENERATED_SECRETS} from './secrets.js'

export interface SecretValue {
  name: string
  value: string
  /** Where the value the stack uses comes from: the environment wins over `.env`, as in Compose. */
  source: 'environment' | '.env' | 'default'
}

/** Not secret, but needed with the Grafana password to log in. */
const GRAFANA_USER = 'TTA_GRAFANA_ADMIN_USER'

/**
 * The stack's generated secrets as the compose files will see them (environment first, then the
 * workspace `.env`), plus the Grafana admin user. Secrets set nowhere are left out.
 */
export function readSecretValues(envFile: string, environment: NodeJS.ProcessEnv = process.env): SecretValue[] {
  const dotenv = existsSync(envFile) ? parseDotenv(readFileSync(envFile, 'utf8'), envFile, {lookup: (name) => environment[name]}) : {}
  const pick = (name: string): SecretValue | undefined => {
    const fromEnv = environment[name]
    if (fromEnv !== undefined && fromEnv !== '') return {name, value: fromEnv, source: 'environment'}
    const fromFile = dotenv[name]
    return fromFile !== undefined && fromFile !== '' ? {name, value: fromFile, source: '.env'} : undefined
  }
  const values = GENERATED_SECRETS.map(pick).filter((v): v is SecretValue => v !== undefined)
  if (values.some((v) => v.name === 'TTA_GRAFANA_ADMIN_PASSWORD')) values.push(pick(GRAFANA_USER) ?? {name: GRAFANA_USER, value: 'admin', source: 'default'})
  return values
}
