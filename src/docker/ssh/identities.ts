// Private keys offered to ssh:// engines (after the agent's).
import {readFileSync} from 'node:fs'



/** Is a private key file protected by a passphrase? (Those need ssh-agent: tta never prompts.) */
export function isEncryptedKey(text: string): boolean {
  if (/^Proc-Type:.*ENCRYPTED/m.test(text) || text.includes('BEGIN ENCRYPTED PRIVATE KEY')) return true
  const match = /-----BEGIN OPENSSH PRIVATE KEY-----([\s\S]*?)-----END OPENSSH PRIVATE KEY-----/.exec(text)
  if (!match?.[1]) return false
  const body = Buffer.from(match[1].replace(/\s+/g, ''), 'base64')
  const magic = 'openssh-key-v1\0'
  if (body.subarray(0, magic.length).toString('latin1') !== magic) return false
  const length = body.readUInt32BE(magic.length)
  return body.subarray(magic.length + 4, magic.length + 4 + length).toString('latin1') !== 'none'
}

export interface LoadedIdentities {
  keys: Array<{file: string; data: Buffer}>
  skipped: Array<{file: string; reason: string}>
}

export function loadIdentities(files: readonly string[]): LoadedIdentities {
  const result: LoadedIdentities = {keys: [], skipped: []}
  for (const file of files) {
    try {
      const data = readFileSync(file)
      if (isEncryptedKey(data.toString('latin1'))) result.skipped.push({file, reason: 'has a passphrase (add it to ssh-agent: ssh-add)'})
      else result.keys.push({file, data})
    } catch (error) {
      result.skipped.push({file, reason: (error as NodeJS.ErrnoException).code ?? (error as Error).message})
    }
  }
  return result
}
