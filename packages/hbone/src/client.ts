import type { ClientHttp2Session, ClientHttp2Stream, OutgoingHttpHeaders } from 'node:http2';
import type { PeerCertificate } from 'node:tls';
import { formatAuthority } from './authority.ts';
import { crypto, http2, tls } from './builtins.ts';
import { tlsOptions, type CredentialStore } from './credentials.ts';
import { spiffeIdOf, formatSpiffeId } from './identity.ts';
import { keepAlive } from './keepalive.ts';
import { HBONE } from './settings.ts';

/** A CONNECT the destination answered with something other than 200 (ztunnel: 400, 401, 503). */
export class ConnectRefusedError extends Error {
  readonly code = 'HBONE_CONNECT_REFUSED';
  readonly status: number;
  constructor(status: number, authority: string) {
    super(`HBONE CONNECT ${authority} answered ${status}`);
    this.status = status;
  }
}

export interface OpenOptions {
  /** Where the destination ztunnel listens: the endpoint IP and the HBONE port. */
  address: string;
  port: number;
  /** The `:authority`: the endpoint's `ip:targetPort`. */
  authority: string;
  /** The SPIFFE ID the destination must present (the endpoint's service account); any of the trust domain when absent. */
  expectedIdentity?: string;
  headers?: OutgoingHttpHeaders;
}

interface PooledSession {
  session: ClientHttp2Session;
  streams: number;
  /** Runs while no stream is open; closes the connection after HBONE.idleTimeoutMs. */
  idle?: NodeJS.Timeout;
  /** Why the connection failed, if it did: pending streams report this rather than a bare cancel. */
  error?: Error;
}

/**
 * HBONE origination: pooled mutual-TLS HTTP/2 connections per destination (and expected identity),
 * up to 100 CONNECT streams each, as ztunnel pools them.
 */
export class HboneClient {
  readonly #pools = new Map<string, PooledSession[]>();
  readonly #credentials: CredentialStore;

  constructor(credentials: CredentialStore) {
    this.#credentials = credentials;
  }

  /** Opens a tunnel; resolves once the destination answers 200, with the stream as a byte pipe. */
  open(options: OpenOptions): Promise<ClientHttp2Stream> {
    const pooled = this.#session(options);
    pooled.streams++;
    clearTimeout(pooled.idle);
    return new Promise((resolve, reject) => {
      let settled = false;
      const stream = pooled.session.request({ ':method': 'CONNECT', ':authority': options.authority, ...options.headers }, { endStream: false });
      const timer = setTimeout(() => fail(Object.assign(new Error(`HBONE CONNECT ${options.authority} timed out`), { code: 'UPSTREAM_CONNECT_TIMEOUT' })), HBONE.connectTimeoutMs);
      const fail = (err: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        stream.close(http2().constants.NGHTTP2_CANCEL);
        reject(err);
      };
      stream.once('close', () => {
        // PINGs keep the socket busy, so idleness is counted in open streams, not in traffic.
        if (--pooled.streams === 0) {
          pooled.idle = setTimeout(() => pooled.session.close(), HBONE.idleTimeoutMs);
          pooled.idle.unref();
        }
        fail(pooled.error ?? Object.assign(new Error(`HBONE stream to ${options.authority} closed before the CONNECT was answered`), { code: 'ECONNRESET' }));
      });
      // A stream cancelled because its connection failed carries the connection's error as its cause.
      stream.once('error', (err) => fail(pooled.error ?? ((err as Error & { cause?: Error }).cause instanceof Error ? (err.cause as Error) : err)));
      stream.once('response', (headers) => {
        const status = Number(headers[':status']);
        if (status !== 200) return fail(new ConnectRefusedError(status, options.authority));
        settled = true;
        clearTimeout(timer);
        resolve(stream);
      });
    });
  }

  #session(options: OpenOptions): PooledSession {
    const key = `${formatAuthority(options.address, options.port)}|${options.expectedIdentity ?? ''}`;
    const list = this.#pools.get(key) ?? [];
    this.#pools.set(key, list);
    const usable = list.find((p) => p.streams < HBONE.maxStreamsPerConnection && !p.session.closed && !p.session.destroyed);
    if (usable) return usable;
    const pooled: PooledSession = { session: this.#connect(options), streams: 0 };
    pooled.session.on('error', (err) => (pooled.error ??= err));
    list.push(pooled);
    const drop = () => {
      const i = list.indexOf(pooled);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0 && this.#pools.get(key) === list) this.#pools.delete(key);
    };
    pooled.session.once('close', () => (clearTimeout(pooled.idle), drop()));
    pooled.session.once('goaway', drop);
    return pooled;
  }

  #connect(options: OpenOptions): ClientHttp2Session {
    const creds = this.#credentials.current;
    const td = creds.identity.trustDomain;
    const session = http2().connect(`https://${formatAuthority(options.address, options.port)}`, {
      settings: { initialWindowSize: HBONE.streamWindow, maxHeaderListSize: HBONE.maxHeaderListSize, enablePush: false },
      maxSessionMemory: 64,
      createConnection: () =>
        tls().connect({
          host: options.address,
          port: options.port,
          ...tlsOptions(creds),
          // No SNI, as ztunnel; the peer is checked by its SPIFFE identity instead of a host name.
          servername: '',
          checkServerIdentity: (_host: string, cert: PeerCertificate) => checkPeer(cert, td, options.expectedIdentity),
        }),
    });
    session.once('connect', () => {
      try {
        session.setLocalWindowSize(HBONE.connectionWindow);
      } catch {
        // closing already
      }
    });
    keepAlive(session, HBONE.pingIntervalMs, HBONE.pingTimeoutMs);
    return session;
  }

  /** Sends GOAWAY on every pooled connection; open tunnels finish. */
  close(): void {
    for (const list of this.#pools.values()) for (const p of list) p.session.close();
    this.#pools.clear();
  }
}

function checkPeer(cert: PeerCertificate, trustDomain: string, expected: string | undefined): Error | undefined {
  const x509 = cert.raw ? new (crypto().X509Certificate)(cert.raw) : undefined;
  const id = x509 && spiffeIdOf(x509);
  if (!id) return Object.assign(new Error('HBONE peer certificate has no SPIFFE identity'), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
  if (id.trustDomain !== trustDomain) return Object.assign(new Error(`HBONE peer ${formatSpiffeId(id)} is outside trust domain ${trustDomain}`), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
  if (expected && formatSpiffeId(id) !== expected) return Object.assign(new Error(`HBONE peer is ${formatSpiffeId(id)}, expected ${expected}`), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
  return undefined;
}
