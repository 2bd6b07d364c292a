// What a redis-server command line says, read one way for readiness probes and for backups.

/** `--name value` or `--name=value` on redis-server's command line; the last one wins, as in redis. */
export function redisOption(command: readonly string[], name: string): string | undefined {
  for (let i = command.length - 1; i >= 0; i--) {
    const arg = command[i] as string
    if (arg === `--${name}`) return command[i + 1]
    if (arg.startsWith(`--${name}=`)) return arg.slice(name.length + 3)
  }
  return undefined
}

/** `--requirepass X` on redis-server's command line, else the variables redis tools read. */
export function redisPassword(facts: {command: readonly string[]; environment: Record<string, string | undefined>}): string | undefined {
  return redisOption(facts.command, 'requirepass') || facts.environment.REDIS_PASSWORD || facts.environment.REDISCLI_AUTH || undefined
}
