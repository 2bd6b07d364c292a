import type {StrategyName} from '../manifest.js'
import {neo4jStrategy} from './neo4j.js'
import {postgresStrategy} from './postgres.js'
import {redisStrategy} from './redis.js'
import type {Strategy} from './types.js'
import {volumeStrategy} from './volume.js'

export const STRATEGY: Record<StrategyName, Strategy> = {
  postgres: postgresStrategy,
  redis: redisStrategy,
  neo4j: neo4jStrategy,
  volume: volumeStrategy,
}
