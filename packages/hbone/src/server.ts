import type { X509Certificate } from 'node:crypto';
import type { Http2SecureServer, Http2Session, IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { parseIpAuthority, forwardedFor } from './authority.ts';
import { http2 } from './builtins.ts';
import { tlsOptions, type CredentialStore } from './credentials.ts';
import { formatSpiffeId, spiffeIdOf, type SpiffeId } from './identity.ts';
import { keepAlive } from './keepalive.ts';
import { HBONE } from './settings.ts';

export interface TunnelPeer {
  identity: SpiffeId;
  /** `spiffe://…`, the source principal for policy and telemetry. */
  principal: string;
  /** The TCP peer of the HBONE connection (with ztunnel, the client pod's IP). */
  address: string;
  port: number;
}

/** An incoming CONNECT, waiting for the application to accept or refuse it. */
export interface ConnectRequest {
  /** The original destination, `ip:port`. */
  authority: string;
  host: string;
  port: number;
  headers: IncomingHttpHeaders;
  peer: TunnelPeer;
  /** The original client: ztunnel's `forwarded: for=` when present, else the TCP peer. */
  source: { address: string; port?: number };
  /** Answers 200; the returned stream then carries the tunnelled bytes both ways. */
  accept(): ServerHttp2Stream;
  reject(status: number, reason: string): void;
}

export interface HboneServerOptions {
  credentials: CredentialStore;
  onConnect: (req: ConnectRequest) => void;
  /** A refused connection or tunnel, for the log. */
  onRefused?: (reason: string, detail: Record<string, unknown>) => void;
}

/** The trust domain a peer's SPIFFE ID must belong to. */
function trustDomainOf(store: CredentialStore): string {
  return store.current.identity.trustDomain;
}

/**
 * HBONE termination: mutual TLS 1.3 with ALPN h2, a client certificate from the trust bundle carrying a
 * SPIFFE ID of this trust domain, then one HTTP/2 CONNECT stream per tunnelled connection.
 */
export class HboneServer {
  readonly server: Http2SecureServer;
  readonly #sessions = new Set<Http2Session>();
  readonly #peers = new WeakMap<Http2Session, TunnelPeer>();
  readonly #options: HboneServerOptions;

  constructor(options: HboneServerOptions) {
    this.#options = options;
    const refused = options.onRefused ?? (() => undefined);
    this.server = http2().createSecureServer({
      ...tlsOptions(options.credentials.current),
      requestCert: true,
      rejectUnauthorized: true,
      allowHTTP1: false,
      handshakeTimeout: HBONE.handshakeTimeoutMs,
      maxSessionMemory: 64,
      settings: {
        maxConcurrentStreams: HBONE.maxConcurrentStreams,
        initialWindowSize: HBONE.streamWindow,
        maxHeaderListSize: HBONE.maxHeaderListSize,
      },
    });
    options.credentials.onRotate((c) => this.server.setSecureContext(tlsOptions(c)));

    this.server.on('secureConnection', (socket: TLSSocket) => {
      const cert = socket.getPeerX509Certificate();
      const id = cert && spiffeIdOf(cert);
      const td = trustDomainOf(options.credentials);
      if (!id || id.trustDomain !== td) {
        refused(`client certificate has no SPIFFE identity in trust domain ${td}`, { peer: socket.remoteAddress, san: cert?.subjectAltName ?? null });
        socket.destroy();
      }
    });
    this.server.on('tlsClientError', (err: Error, socket: TLSSocket) => refused(`TLS handshake failed: ${err.message}`, { peer: socket.remoteAddress }));
    this.server.on('session', (session: Http2Session) => {
      this.#sessions.add(session);
      session.once('close', () => this.#sessions.delete(session));
      session.on('error', () => undefined); // a vanished peer ends its own session only
      try {
        session.setLocalWindowSize(HBONE.connectionWindow);
      } catch {
        // the session may already be closing
      }
      keepAlive(session, HBONE.pingIntervalMs, HBONE.pingTimeoutMs);
    });
    this.server.on('stream', (stream, headers) => this.#onStream(stream, headers));
  }

  #peer(session: Http2Session): TunnelPeer | undefined {
    let peer = this.#peers.get(session);
    if (peer) return peer;
    const socket = session.socket as TLSSocket;
    const cert: X509Certificate | undefined = socket.getPeerX509Certificate?.();
    const identity = cert && spiffeIdOf(cert);
    if (!identity) return undefined;
    peer = { identity, principal: formatSpiffeId(identity), address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 };
    this.#peers.set(session, peer);
    return peer;
  }

  #onStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    stream.on('error', () => undefined);
    const reject = (status: number, reason: string) => {
      if (stream.destroyed || stream.headersSent) return;
      stream.respond({ ':status': status, 'content-type': 'text/plain' });
      stream.end(`${reason}\n`);
      this.#options.onRefused?.(reason, { status, authority: headers[':authority'] ?? null });
    };
    if (headers[':method'] !== 'CONNECT') return reject(400, `HBONE expects CONNECT, not ${headers[':method']}`);
    const authority = headers[':authority'];
    const dest = parseIpAuthority(authority);
    if (!dest) return reject(400, `CONNECT authority must be ip:port (got ${JSON.stringify(authority ?? '')})`);
    const peer = this.#peer(stream.session!);
    if (!peer) return stream.close(http2().constants.NGHTTP2_REFUSED_STREAM);
    const fwd = forwardedFor(headers.forwarded as string | undefined);
    this.#options.onConnect({
      authority: authority!,
      host: dest.host,
      port: dest.port,
      headers,
      peer,
      source: fwd ?? { address: peer.address, port: peer.port },
      accept: () => {
        stream.respond({ ':status': 200 });
        return stream;
      },
      reject,
    });
  }

  /** `reusePort` lets several processes listen on the one port (SO_REUSEPORT), the kernel spreading connections. */
  listen(host: string, port: number, reusePort = false): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ port, host, ...(reusePort ? { reusePort } : {}) }, () => {
        this.server.off('error', reject);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  /** Stops accepting; existing connections get GOAWAY and finish their streams, or are cut after `graceMs`. */
  async close(graceMs: number): Promise<void> {
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    for (const s of this.#sessions) s.close();
    const deadline = new Promise<void>((r) => setTimeout(r, graceMs).unref());
    await Promise.race([closed, deadline]);
    for (const s of this.#sessions) s.destroy();
  }
}
