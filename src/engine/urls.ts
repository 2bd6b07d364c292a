import type {Service} from '../compose/model.js'

/** Well-known container ports whose URL is not http. */
const SCHEMES: Record<number, string> = {6379: 'redis', 5432: 'postgresql', 7687: 'bolt', 9042: 'cassandra', 27017: 'mongodb', 5672: 'amqp'}

/** The URLs a developer opens or connects to, one per published TCP port. */
export function serviceUrls(service: Service): string[] {
  return (service.ports ?? [])
    .filter((p) => p.published && p.protocol === 'tcp')
    .map((p) => {
      const scheme = SCHEMES[p.target] ?? 'http'
      const host = !p.host_ip || p.host_ip === '0.0.0.0' || p.host_ip === '127.0.0.1' ? 'localhost' : p.host_ip.includes(':') ? `[${p.host_ip}]` : p.host_ip
      return `${scheme}://${host}:${p.published}`
    })
}
