/**
 * Docker's multiplexed attach/exec/logs stream: frames of an 8-byte header (stream type: 1 stdout,
 * 2 stderr; 3 zero bytes; big-endian payload length) and the payload. The complete frames in
 * `data`, each with the offset just past it (where an incomplete frame, if any, begins).
 */
export function* frames(data: Buffer): Generator<{stream: 'stdout' | 'stderr'; payload: Buffer; end: number}> {
  let offset = 0
  while (offset + 8 <= data.length) {
    const length = data.readUInt32BE(offset + 4)
    if (offset + 8 + length > data.length) return
    yield {stream: data[offset] === 2 ? 'stderr' : 'stdout', payload: data.subarray(offset + 8, offset + 8 + length), end: offset + 8 + length}
    offset += 8 + length
  }
}
