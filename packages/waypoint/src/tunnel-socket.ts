import type { Duplex } from 'node:stream';

/**
 * Prepares an HTTP/2 stream so that node:http can serve HTTP/1.1 over it directly. node:http writes its
 * status line as a latin1 string in a corked writev, and an Http2Stream garbles such a string chunk (seen
 * on Node 20 and 24): the client receives random bytes instead of "HTTP/1.1 200 OK". The stream's writev
 * is replaced by one that hands it a single Buffer.
 */
export function tunnelSocket(stream: Duplex): Duplex {
  const write = stream._write.bind(stream);
  stream._writev = (chunks, callback) => {
    const buffers = chunks.map(({ chunk, encoding }) => (Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string, encoding)));
    write(buffers.length === 1 ? buffers[0]! : Buffer.concat(buffers), 'buffer' as BufferEncoding, callback);
  };
  return stream;
}
