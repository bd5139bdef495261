/**
 * A client ztunnel in miniature, for trying HBONE by hand: opens mutual TLS + HTTP/2 to the waypoint,
 * sends CONNECT to the original destination, and makes one HTTP/1.1 request inside the tunnel.
 *   node examples/hbone-client.ts --waypoint 127.0.0.1:15008 --certs DIR/default/sleep --to 10.96.0.10:80 \
 *     [--forwarded-for 10.1.2.3:4567] [--host echo.default] [--path /hello] [-H 'name: value']...
 */
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { connect } from 'node:http2';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    waypoint: { type: 'string', default: '127.0.0.1:15008' },
    certs: { type: 'string' },
    to: { type: 'string' },
    'forwarded-for': { type: 'string' },
    host: { type: 'string' },
    path: { type: 'string', default: '/' },
    header: { type: 'string', short: 'H', multiple: true },
  },
});
if (!values.certs || !values.to) {
  console.error('usage: hbone-client.ts --certs DIR --to IP:PORT [--waypoint HOST:PORT] [--path P] [--host H] [-H "k: v"]');
  process.exit(2);
}
const file = (name: string) => readFileSync(join(values.certs!, name));
const session = connect(`https://${values.waypoint}`, {
  ca: file('root-cert.pem'),
  cert: file('cert-chain.pem'),
  key: file('key.pem'),
  servername: '',
  minVersion: 'TLSv1.3',
  checkServerIdentity: () => undefined, // HBONE peers are checked by SPIFFE identity, printed below
});
session.on('error', (e) => (console.error(`HBONE connection failed: ${e.message}`), process.exit(1)));
const tunnel = session.request({
  ':method': 'CONNECT',
  ':authority': values.to,
  ...(values['forwarded-for'] ? { forwarded: `for="${values['forwarded-for']}"` } : {}),
});
const [headers] = await once(tunnel, 'response');
const peer = (session.socket as import('node:tls').TLSSocket).getPeerX509Certificate()?.subjectAltName;
console.error(`CONNECT ${values.to} → ${headers[':status']} (waypoint identity: ${peer})`);
if (headers[':status'] !== 200) process.exit(1);
const extra = (values.header ?? []).map((h) => `${h}\r\n`).join('');
tunnel.write(`GET ${values.path} HTTP/1.1\r\nHost: ${values.host ?? values.to}\r\n${extra}Connection: close\r\n\r\n`);
tunnel.pipe(process.stdout);
tunnel.on('end', () => {
  tunnel.end();
  session.close();
});
