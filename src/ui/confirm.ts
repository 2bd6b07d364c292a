import {createInterface} from 'node:readline/promises'

import {ExitCode, TtaError} from '../errors.js'

/**
 * Asks a yes/no question on the terminal. Without a terminal there is nobody to ask: refuse
 * (exit 2) and name the flag, rather than assume an answer.
 */
export async function confirm(question: string, flagHint = '-y'): Promise<boolean> {
  if (!process.stdin.isTTY) {
    throw new TtaError(`${question.replace(/\?$/, '')}: refusing without confirmation (no terminal to ask)`, ExitCode.badInput, `pass ${flagHint} to confirm`)
  }
  const rl = createInterface({input: process.stdin, output: process.stderr})
  try {
    const answer = await rl.question(`${question} [y/N] `)
    return /^y(es)?$/i.test(answer.trim())
  } finally {
    rl.close()
  }
}
