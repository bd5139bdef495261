/**
 * The "bare Node proxy": Node's own http server and client, keep-alive, no features at all.
 * A peer in the benchmark, to show what any Node proxy costs on this machine.
 *   node bench/node-proxy.ts LISTEN_PORT UPSTREAM_PORT
 */
import { Agent, createServer, request } from 'node:http';

const [listen, upstream] = process.argv.slice(2).map(Number);
const agent = new Agent({ keepAlive: true, maxSockets: Infinity });
createServer((req, res) => {
  const up = request({ host: '127.0.0.1', port: upstream, method: req.method, path: req.url, headers: req.headers, agent }, (r) => {
    res.writeHead(r.statusCode ?? 502, r.headers);
    r.pipe(res);
  });
  up.on('error', () => (res.headersSent ? res.destroy() : (res.writeHead(502), res.end())));
  req.pipe(up);
}).listen(listen, '127.0.0.1');
