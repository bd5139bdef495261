import { connect as h2connect } from 'node:http2';
import { createServer, type AddressInfo } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectRefusedError, CredentialStore, HboneClient, HboneServer, forwardedFor, parseIpAuthority, type ConnectRequest } from '../src/index.ts';
import { issueLeaf } from '../src/certs.ts';
import { createCa, id, store, writeLeaf, TD } from './fixtures.ts';

let ca: Awaited<ReturnType<typeof createCa>>;
let server: HboneServer;
let port: number;
const seen: ConnectRequest[] = [];
const refusals: string[] = [];

beforeAll(async () => {
  ca = await createCa(TD);
  const creds = await store(ca, { identity: id('default', 'waypoint') });
  server = new HboneServer({
    credentials: creds,
    onConnect: (req) => {
      seen.push(req);
      if (req.port === 9) return req.reject(503, 'nothing listens on port 9');
      const stream = req.accept();
      stream.on('data', (d: Buffer) => stream.write(Buffer.concat([Buffer.from('echo:'), d])));
      stream.on('end', () => stream.end());
    },
    onRefused: (reason) => refusals.push(reason),
  });
  port = (await server.listen('127.0.0.1', 0)).port;
});
afterAll(async () => server?.close(100));

async function client(options: Parameters<typeof issueLeaf>[1], otherCa = false) {
  const issuer = otherCa ? await createCa(TD) : ca;
  const paths = await writeLeaf(issuer, options);
  // The client trusts the right CA even when its own leaf comes from another one.
  writeFileSync(paths.ca, ca.certPem);
  return new HboneClient(new CredentialStore(paths, (e) => {
    throw e;
  }));
}

describe('HBONE between this client and this server', () => {
  it('tunnels bytes through CONNECT and tells the server who the peer is', async () => {
    const c = await client({ identity: id('ns1', 'sleep') });
    const stream = await c.open({ address: '127.0.0.1', port, authority: '10.96.0.1:80', headers: { forwarded: 'for="10.1.2.3:5555";host=web.default.svc.cluster.local' } });
    const reply = new Promise<string>((r) => stream.once('data', (d: Buffer) => r(d.toString())));
    stream.write('ping');
    expect(await reply).toBe('echo:ping');
    const req = seen.at(-1)!;
    expect([req.authority, req.host, req.port, req.peer.principal, req.source]).toEqual([
      '10.96.0.1:80',
      '10.96.0.1',
      80,
      'spiffe://cluster.local/ns/ns1/sa/sleep',
      { address: '10.1.2.3', port: 5555 },
    ]);
    stream.end();
    c.close();
  });

  it('multiplexes tunnels over one pooled connection', async () => {
    const c = await client({ identity: id('ns1', 'sleep') });
    const streams = await Promise.all(Array.from({ length: 20 }, () => c.open({ address: '127.0.0.1', port, authority: '10.0.0.1:80' })));
    const sessions = new Set(streams.map((s) => s.session));
    expect(sessions.size).toBe(1);
    for (const s of streams) s.close();
    c.close();
  });

  it('reports a refused CONNECT with its status', async () => {
    const c = await client({ identity: id('ns1', 'sleep') });
    await expect(c.open({ address: '127.0.0.1', port, authority: '10.0.0.1:9' })).rejects.toBeInstanceOf(ConnectRefusedError);
    c.close();
  });

  it('refuses to talk to a server that is not the expected identity', async () => {
    const c = await client({ identity: id('ns1', 'sleep') });
    await expect(c.open({ address: '127.0.0.1', port, authority: '10.0.0.1:80', expectedIdentity: 'spiffe://cluster.local/ns/default/sa/someone-else' })).rejects.toThrow(/expected spiffe:\/\/cluster\.local\/ns\/default\/sa\/someone-else/);
    c.close();
  });

  it('fails with ECONNREFUSED when nothing listens', async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const closed = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const c = await client({ identity: id('ns1', 'sleep') });
    await expect(c.open({ address: '127.0.0.1', port: closed, authority: '10.0.0.1:80' })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    c.close();
  });
});

describe('peers the server refuses', () => {
  const handshake = (opts: { cert?: string; key?: string }) =>
    new Promise<string>((resolve) => {
      const s = tlsConnect({ host: '127.0.0.1', port, ca: ca.certPem, ALPNProtocols: ['h2'], servername: '', checkServerIdentity: () => undefined, ...opts });
      s.on('secureConnect', () => {
        // TLS 1.3 sends the server's verdict on the client certificate after the handshake.
        s.once('data', () => resolve('data'));
        s.once('close', () => resolve('closed'));
        s.write(Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00', 'latin1'));
      });
      s.on('error', (e) => resolve(`error: ${(e as NodeJS.ErrnoException).code ?? e.message}`));
    });

  it('refuses a client without a certificate', async () => {
    expect(await handshake({})).toMatch(/closed|error/);
  });

  it('refuses a client certificate from another CA', async () => {
    const other = await createCa(TD);
    const leaf = await issueLeaf(other, { identity: id('ns1', 'intruder') });
    expect(await handshake({ cert: leaf.certPem, key: leaf.keyPem })).toMatch(/closed|error/);
  });

  it('refuses an expired client certificate', async () => {
    const leaf = await issueLeaf(ca, { identity: id('ns1', 'old'), expired: true });
    expect(await handshake({ cert: leaf.certPem, key: leaf.keyPem })).toMatch(/closed|error/);
  });

  it('refuses a client certificate without a SPIFFE URI SAN, and says why', async () => {
    const leaf = await issueLeaf(ca, { dnsNames: ['sleep.example.com'] });
    expect(await handshake({ cert: leaf.certPem, key: leaf.keyPem })).toMatch(/closed|error/);
    expect(refusals.some((r) => r.includes('no SPIFFE identity'))).toBe(true);
  });

  it('accepts a valid client and answers a non-CONNECT request with 400', async () => {
    const leaf = await issueLeaf(ca, { identity: id('ns1', 'sleep') });
    const session = h2connect(`https://127.0.0.1:${port}`, { ca: ca.certPem, cert: leaf.certPem, key: leaf.keyPem, servername: '', checkServerIdentity: () => undefined });
    const status = await new Promise<number>((resolve) => {
      const req = session.request({ ':method': 'GET', ':path': '/' });
      req.on('response', (h) => resolve(Number(h[':status'])));
      req.end();
    });
    const bad = await new Promise<number>((resolve) => {
      const req = session.request({ ':method': 'CONNECT', ':authority': 'reviews:9080' });
      req.on('response', (h) => resolve(Number(h[':status'])));
    });
    session.close();
    expect([status, bad]).toEqual([400, 400]);
  });
});

describe('certificate rotation', () => {
  it('serves the new certificate to new connections without dropping existing ones', async () => {
    const paths = await writeLeaf(ca, { identity: id('default', 'rotating') });
    const creds = new CredentialStore(paths, () => undefined);
    const s = new HboneServer({ credentials: creds, onConnect: (r) => r.accept().resume() });
    const p = (await s.listen('127.0.0.1', 0)).port;
    const serial = () =>
      new Promise<string>((resolve, reject) => {
        const sock = tlsConnect({ host: '127.0.0.1', port: p, ca: ca.certPem, ALPNProtocols: ['h2'], servername: '', checkServerIdentity: () => undefined, cert: readFileSync(paths.cert), key: readFileSync(paths.key) }, () => {
          resolve(sock.getPeerX509Certificate()!.serialNumber);
          sock.destroy();
        });
        sock.on('error', reject);
      });
    const before = await serial();
    const c = await client({ identity: id('ns1', 'sleep') });
    const open = await c.open({ address: '127.0.0.1', port: p, authority: '10.0.0.1:80' });
    const next = await issueLeaf(ca, { identity: id('default', 'rotating') });
    writeFileSync(paths.key, next.keyPem);
    writeFileSync(paths.cert, next.certPem);
    expect(creds.reload()).toBe(true);
    const after = await serial();
    expect(after).not.toBe(before);
    expect(open.destroyed).toBe(false);
    expect(open.write('still here')).toBe(true);
    c.close();
    await s.close(100);
  });

  it('keeps the old credentials when a rotation is broken, and reports it once', async () => {
    const paths = await writeLeaf(ca, { identity: id('default', 'x') });
    const errors: string[] = [];
    const creds = new CredentialStore(paths, (e) => errors.push(e.message));
    const serial = creds.current.serialNumber;
    writeFileSync(paths.key, 'not a key');
    expect(creds.reload()).toBe(false);
    expect(creds.reload()).toBe(false);
    expect(creds.current.serialNumber).toBe(serial);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/private key .*key\.pem is unusable/);
  });
});

describe('authority and forwarded parsing', () => {
  it.each([
    ['10.0.0.1:80', { host: '10.0.0.1', port: 80 }],
    ['[fd00::1]:8080', { host: 'fd00::1', port: 8080 }],
    ['reviews:9080', undefined],
    ['10.0.0.1', undefined],
    ['10.0.0.1:0', undefined],
    ['10.0.0.1:70000', undefined],
    ['fd00::1:80', undefined],
  ])('%s', (text, expected) => expect(parseIpAuthority(text)).toEqual(expected));

  it('reads ztunnel forwarded headers', () => {
    expect(forwardedFor('for="10.1.2.3:4567";host=web.default.svc.cluster.local')).toEqual({ address: '10.1.2.3', port: 4567 });
    expect(forwardedFor('for="[fd00::2]:80"')).toEqual({ address: 'fd00::2', port: 80 });
    expect(forwardedFor('for=10.9.9.9')).toEqual({ address: '10.9.9.9' });
    expect(forwardedFor('host=x')).toBeUndefined();
  });
});
