/**
 * A demo backend: answers every request with JSON describing what it received, so routing is visible.
 *   node examples/echo-server.ts --listen 127.0.0.11:8080 --name echo-v1
 */
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { listen: { type: 'string' }, name: { type: 'string' } } });
const listen = values.listen ?? '127.0.0.1:8080';
const name = values.name ?? 'echo';
const colon = listen.lastIndexOf(':');
const host = listen.slice(0, colon);
const port = Number(listen.slice(colon + 1));

const server = createServer((req, res) => {
  let bytes = 0;
  req.on('data', (chunk: Buffer) => (bytes += chunk.length));
  req.on('end', () => {
    const body = JSON.stringify({ backend: name, method: req.method, url: req.url, headers: req.headers, bodyBytes: bytes }, null, 2);
    res.writeHead(200, { 'content-type': 'application/json', 'x-backend': name });
    res.end(`${body}\n`);
  });
});
server.listen(port, host, () => console.error(`${name} listening on ${host}:${port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
process.on('SIGINT', () => server.close(() => process.exit(0)));
