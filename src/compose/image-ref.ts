/**
 * The image reference grammar of distribution/reference (what Docker accepts for `image:`):
 *
 *   reference  := name [ ":" tag ] [ "@" digest ]
 *   name       := [domain "/"] path-component ["/" path-component]*
 *   domain     := host [":" port]   host := domain-name | IPv4 | "[" IPv6 "]"
 *   path-comp  := [a-z0-9]+ (separator [a-z0-9]+)*   separator := [_.] | "__" | "-"+
 *   tag        := [\w][\w.-]{0,127}
 *   digest     := algorithm ":" hex{32,}
 */

const ALNUM = '[a-z0-9]+'
const SEPARATOR = '(?:[._]|__|-+)'
const PATH_COMPONENT = `${ALNUM}(?:${SEPARATOR}${ALNUM})*`
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])'
const DOMAIN_NAME = `${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*`
const IPV6 = '\\[(?:[a-fA-F0-9:]+)\\]'
const HOST = `(?:${DOMAIN_NAME}|${IPV6})`
const DOMAIN = `${HOST}(?::[0-9]+)?`
const TAG = '[\\w][\\w.-]{0,127}'
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}'

const DOMAIN_RE = new RegExp(`^${DOMAIN}$`)
const PATH_RE = new RegExp(`^${PATH_COMPONENT}(?:/${PATH_COMPONENT})*$`)
const TAG_RE = new RegExp(`^${TAG}$`)
const DIGEST_RE = new RegExp(`^${DIGEST}$`)

export interface ImageReference {
  domain?: string
  path: string
  tag?: string
  digest?: string
}

/** Parse an image reference; throws Error with a message saying what is wrong. */
export function parseImageReference(ref: string): ImageReference {
  const bad = (why: string): Error => new Error(`invalid image reference "${ref}": ${why}`)
  if (ref === '') throw bad('empty')
  let rest = ref
  let digest: string | undefined
  const at = rest.indexOf('@')
  if (at >= 0) {
    digest = rest.slice(at + 1)
    rest = rest.slice(0, at)
    if (!DIGEST_RE.test(digest)) throw bad(`bad digest "${digest}"`)
  }
  // A tag is whatever follows the last ':' that comes after the last '/'.
  let tag: string | undefined
  const lastSlash = rest.lastIndexOf('/')
  const colon = rest.indexOf(':', lastSlash + 1)
  if (colon >= 0) {
    tag = rest.slice(colon + 1)
    rest = rest.slice(0, colon)
    if (tag === '') throw bad('empty tag')
    if (tag.includes(':')) throw bad(`more than one tag ("${tag}")`)
    if (!TAG_RE.test(tag)) throw bad(`bad tag "${tag}" (letters, digits, "_", ".", "-"; at most 128)`)
  }
  if (rest === '') throw bad('empty name')
  let domain: string | undefined
  let path = rest
  const slash = rest.indexOf('/')
  if (slash >= 0) {
    const first = rest.slice(0, slash)
    // The first component is a registry when it looks like a host. (Docker also treats an
    // uppercase first component as a host; tta reports it as a casing mistake instead.)
    if (first.includes('.') || first.includes(':') || first === 'localhost') {
      domain = first
      path = rest.slice(slash + 1)
      if (!DOMAIN_RE.test(domain)) throw bad(`bad registry host "${domain}"`)
    }
  }
  if (path !== path.toLowerCase()) throw bad('repository name must be lowercase')
  if (!PATH_RE.test(path)) throw bad(`bad repository name "${path}"`)
  if (rest.length > 255) throw bad('repository name longer than 255 characters')
  const out: ImageReference = {path}
  if (domain !== undefined) out.domain = domain
  if (tag !== undefined) out.tag = tag
  if (digest !== undefined) out.digest = digest
  return out
}

/**
 * The parts of any image reference, without validating it (an image a container already runs, a
 * name from a user's file): registry host (Docker's rule: a first component with "." or ":" or
 * `localhost`), repository path, tag, digest, and the repository's last component ("base").
 * `registry:5000/library/postgres:15@sha256:…` has base `postgres`.
 */
export function splitImageRef(ref: string): {domain?: string; path: string; tag?: string; digest?: string; base: string} {
  const at = ref.indexOf('@')
  const digest = at >= 0 ? ref.slice(at + 1) : undefined
  const named = at >= 0 ? ref.slice(0, at) : ref
  const slash = named.lastIndexOf('/')
  const colon = named.indexOf(':', slash + 1)
  const name = colon >= 0 ? named.slice(0, colon) : named
  const tag = colon >= 0 ? named.slice(colon + 1) : undefined
  const first = name.split('/')[0] as string
  const hasDomain = name.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost')
  const path = hasDomain ? name.slice(first.length + 1) : name
  return {...(hasDomain ? {domain: first} : {}), path, ...(tag !== undefined ? {tag} : {}), ...(digest !== undefined ? {digest} : {}), base: path.slice(path.lastIndexOf('/') + 1)}
}
