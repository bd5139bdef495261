import { Duplex } from 'node:stream';

/**
 * Wraps an HTTP/2 stream so that node:http can serve HTTP/1.1 over it. node:http writes its status line
 * as a latin1 string in a corked writev, and an Http2Stream garbles such a string chunk (seen on Node 20
 * and 24): the client receives random bytes instead of "HTTP/1.1 200 OK". This Duplex hands the stream
 * Buffers only, one write per writev.
 */
export function tunnelSocket(stream: Duplex): Duplex {
  const socket = new Duplex({
    read() {
      stream.resume();
    },
    write(chunk: Buffer, _encoding, callback) {
      stream.write(chunk, callback);
    },
    writev(chunks, callback) {
      stream.write(chunks.length === 1 ? chunks[0]!.chunk : Buffer.concat(chunks.map((c) => c.chunk as Buffer)), callback);
    },
    final(callback) {
      stream.end(callback);
    },
    destroy(err, callback) {
      stream.destroy(err ?? undefined);
      callback(err);
    },
  });
  stream.on('data', (chunk: Buffer) => {
    if (!socket.push(chunk)) stream.pause();
  });
  stream.on('end', () => socket.push(null));
  stream.on('error', (err) => socket.destroy(err));
  stream.on('close', () => socket.destroy());
  return socket;
}
