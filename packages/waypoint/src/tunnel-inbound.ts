import type { ServerHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { http2, type ConnectRequest } from '@waypoint/hbone';
import { portProtocol, type AddressTarget } from '@waypoint/routing';
import { createH2cServer, createHttpServer, type HttpServerHooks } from './http-server.ts';
import { tunnelSocket } from './tunnel-socket.ts';
import { FastPathListener } from './http1-fast-path.ts';
import type { Logger } from './logger.ts';
import type { Proxy, RequestContext } from './proxy.ts';
import type { SnapshotStore } from './snapshot.ts';
import { upstreamEndpoint, type UpstreamTransport } from './upstream.ts';
import { detectProtocol, type TunnelProtocol } from './protocol-detect.ts';

export interface TunnelInboundDeps {
  store: SnapshotStore;
  proxy: Proxy;
  transport: UpstreamTransport;
  trustDomain: string | undefined;
  log: Logger;
  hooks: HttpServerHooks;
  /** A bug caught while serving a request in a tunnel. */
  onError: (err: Error, context: string) => void;
}

/**
 * What the waypoint does with each accepted HBONE tunnel: HTTP (HTTP/1.1 or h2c) goes through routing and
 * the proxy; anything else is relayed as TCP to the destination, as Istio's waypoint does.
 */
export class TunnelInbound {
  readonly #deps: TunnelInboundDeps;
  readonly #fast: FastPathListener;

  constructor(deps: TunnelInboundDeps) {
    this.#deps = deps;
    this.#fast = new FastPathListener((err) => deps.onError(err, 'tunnel http'));
  }

  /** The HTTP/1.1 fast path's connections in tunnels, for drain. */
  get fastPath(): FastPathListener {
    return this.#fast;
  }

  onConnect(req: ConnectRequest): void {
    const { store, log } = this.#deps;
    const snapshot = store.current;
    if (!snapshot) return req.reject(503, 'the waypoint has no config yet');
    const target = snapshot.router.resolveAddress(req.host, req.port);
    if (!target) {
      log.warn({ authority: req.authority, peer: req.peer.principal }, `HBONE CONNECT to ${req.authority} refused: no Service clusterIP or workload has that address`);
      return req.reject(400, `unknown destination ${req.authority}`);
    }
    const stream = req.accept();
    const context: RequestContext = {
      kind: 'tunnel',
      ip: req.host,
      port: req.port,
      source: req.source.address,
      sourcePort: req.source.port,
      principal: req.peer.principal,
    };
    const declared = portProtocol(target.kind === 'service' ? (target.port?.appProtocol ?? target.port?.name) : target.appProtocol);
    if (declared === 'tcp') return this.#relay(stream, target, req);
    detectProtocol(stream, (protocol: TunnelProtocol, unread?: Buffer) => {
      if (protocol === 'tcp') this.#relay(stream, target, req, unread);
      else this.#serveHttp(stream, protocol, context);
    });
  }

  #serveHttp(stream: ServerHttp2Stream, protocol: 'http1' | 'h2c', context: RequestContext): void {
    const handler = (rq: Parameters<Proxy['handle']>[0], rs: Parameters<Proxy['handle']>[1]) => this.#deps.proxy.handle(rq, rs, context);
    if (protocol === 'http1') {
      // The HTTP/1.1 fast path first, reading and writing the tunnel's stream itself (FastRequest and
      // FastResponse carry what the proxy reads of IncomingMessage and ServerResponse); node:http's server
      // for what it does not take, through the adapter it needs over an HTTP/2 stream.
      const toNodeHttp = () => {
        const socket = tunnelSocket(stream);
        createHttpServer(handler, this.#deps.hooks).emit('connection', socket);
        socket.resume();
      };
      this.#fast.serve(stream as unknown as Socket, toNodeHttp, handler as never, { http2Stream: true });
      return;
    }
    createH2cServer(handler as never, this.#deps.hooks).emit('connection', stream);
  }

  /** Relays raw bytes to an endpoint of the destination (L4 only). */
  #relay(stream: ServerHttp2Stream, target: AddressTarget, req: ConnectRequest, unread?: Buffer): void {
    const { store, transport, log, trustDomain } = this.#deps;
    let endpoint;
    if (target.kind === 'service') {
      const picker = target.port ? store.current?.router.target(target.service.key, target.port.port)?.endpoints : undefined;
      const picked = picker?.pick();
      if (picked) stream.once('close', () => picker!.release?.(picked));
      if (!picked) {
        log.warn({ authority: req.authority }, `TCP tunnel to ${req.authority}: no healthy upstream`);
        return void stream.close(http2().constants.NGHTTP2_CONNECT_ERROR);
      }
      endpoint = upstreamEndpoint(picked, trustDomain);
    } else {
      endpoint = upstreamEndpoint({ address: target.address, port: req.port, ...(target.pod ? { pod: target.pod } : {}), ...(target.serviceAccount ? { serviceAccount: target.serviceAccount } : {}) }, trustDomain);
    }
    transport.open(endpoint).then(
      (upstream: Duplex) => {
        upstream.on('error', () => stream.close(http2().constants.NGHTTP2_CONNECT_ERROR));
        stream.on('error', () => upstream.destroy());
        stream.on('close', () => upstream.destroy());
        upstream.on('close', () => stream.destroyed || stream.end());
        if (unread?.length) upstream.write(unread);
        stream.pipe(upstream).pipe(stream);
      },
      (err: Error) => {
        log.warn({ authority: req.authority, upstream: `${endpoint.address}:${endpoint.port}`, err: err.message }, `TCP tunnel to ${req.authority} failed: ${err.message}`);
        stream.close(http2().constants.NGHTTP2_CONNECT_ERROR);
      },
    );
  }
}
