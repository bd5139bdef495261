import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ClientHttp2Stream, IncomingHttpHeaders, OutgoingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import type { EndpointIR, HeaderModifierIR } from '@waypoint/config';
import { http2 } from '@waypoint/hbone';
import { hashKey, modifyHeaders, modifyPath, parseHost, QueryView, redirectLocation, type CorsPolicy, type EndpointPicker, type RetryPolicy, type RouteDecision, type RouteRequest, type ServiceTarget } from '@waypoint/routing';
import type { AccessLog, AccessLogEntry } from './access-log.ts';
import { downstreamResponseHeaders, headerValue, peerAddress, upstreamRequestHeaders } from './headers.ts';
import { isHandedOver, isRefusedUpgrade } from './http-server.ts';
import { request as httpRequest } from './node-http.ts';
import { classifyUpstreamError, upstreamFailureBody, type UpstreamFailure } from './response-flags.ts';
import type { SnapshotStore } from './snapshot.ts';
import type { Stats } from './stats.ts';
import type { UpstreamPools } from './upstream-pools.ts';
import type { UpstreamController, UpstreamHandler } from './upstream-h1.ts';
import { endpointKey, upstreamEndpoint, type UpstreamEndpoint, type UpstreamTransport } from './upstream.ts';
import type { H2Upstreams } from './upstream-h2.ts';
import { crypto } from './builtins.ts';

export const SERVER_HEADER = 'istio-envoy';

/** Request bodies up to this size are kept for retries (Envoy's default per-connection buffer limit, 1 MiB). */
const RETRY_BODY_LIMIT = 1024 * 1024;

/** Where a request arrived: on a plain HTTP listener, or inside an HBONE tunnel. */
export type RequestContext =
  | {
      kind: 'plain';
      /** The Gateway listener port this plain HTTP listener serves. */
      gatewayPort: number;
    }
  | {
      kind: 'tunnel';
      /** The tunnel's original destination. */
      ip: string;
      port: number;
      /** The original client (ztunnel's `forwarded: for=`), used as source.ip and in x-forwarded-for. */
      source: string;
      sourcePort: number | undefined;
      /** The peer's SPIFFE ID: the source principal. */
      principal: string;
    };

export interface ProxyDeps {
  store: SnapshotStore;
  pools: UpstreamPools;
  stats: Stats;
  accessLog: AccessLog | undefined;
  h2: H2Upstreams;
  /** Opens the dedicated upstream connection of a WebSocket upgrade (plain TCP or an HBONE tunnel). */
  transport: UpstreamTransport;
  /** True once draining: responses then carry `connection: close`. */
  draining: () => boolean;
  /** The trust domain of upstream identities (HBONE), from the waypoint's own certificate. */
  trustDomain: string | undefined;
  onError: (err: Error, context: string) => void;
}

/** Per-request state shared by the upstream handler and the access log. */
interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  log: AccessLogEntry;
  upstreamStart: number;
  controller: UpstreamController | undefined;
  /** The matched rule's ResponseHeaderModifier, applied when the upstream answers. */
  responseHeaders?: HeaderModifierIR | undefined;
  /** The route timeout, when the rule has one. */
  timer?: NodeJS.Timeout;
  timedOut?: boolean;
  /** Cancels an HTTP/2 upstream stream when the client goes away. */
  cancel?: () => void;
  done: boolean;
  /** The upstream try in progress, from 1; events of an abandoned try (one being retried) are ignored. */
  attempt: number;
  /** The back-off before the next try. */
  retryTimer?: NodeJS.Timeout | undefined;
  /** The per-try timeout of the try in progress. */
  tryTimer?: NodeJS.Timeout | undefined;
  /** A gRPC trailers-only reply went straight to the HTTP/2 stream (the response object never finishes). */
  repliedOnStream?: boolean;
  /** A consistent-hash cookie issued with this response. */
  setCookie?: string;
  /** CORS headers for the response to an allowed origin. */
  corsHeaders?: string[];
  upstream?: UpstreamPlan;
  /**
   * The endpoint picked for the try in progress, while its load balancer counts it in flight (least
   * request): released when the exchange ends or a retry moves to another endpoint, exactly once.
   */
  picked?: EndpointIR | undefined;
  pickedFrom?: EndpointPicker | undefined;
  /** The `Upgrade` value of a WebSocket upgrade request, sent on upstream. */
  upgrade?: string;
  /** The upstream switched protocols: the exchange is a byte tunnel until either side closes. */
  upgraded?: boolean;
}

/** What each upstream try sends, and where retries may go. */
interface UpstreamPlan {
  path: string;
  method: string;
  host: string | undefined;
  headers: string[];
  hasBody: boolean;
  http2: boolean;
  /** The Service port whose endpoints a retry picks from; absent for a request to one workload. */
  target: ServiceTarget | undefined;
  clusterName: string;
  retry: RetryPolicy;
  retriesLeft: number;
  /** The endpoint of the try in progress. */
  endpoint: EndpointIR;
  /** Endpoints of earlier tries, once there is a retry. */
  tried: EndpointIR[] | undefined;
  /** The request body as sent on the first try, kept for retries; undefined once it outgrew the limit. */
  bodyCopy: Buffer[] | undefined;
  bodyCopyBytes: number;
}

/** The L7 proxy: route each request on the snapshot in force, forward it or answer it locally. */
export class Proxy {
  readonly #deps: ProxyDeps;
  readonly #rqTotal;
  readonly #rqActive;
  readonly #rqByClass;
  readonly #upgradesTotal;
  readonly #upgradesActive;
  readonly #upgradesRefused;

  constructor(deps: ProxyDeps) {
    this.#deps = deps;
    this.#upgradesTotal = deps.stats.counter('http.inbound.downstream_cx_upgrades_total');
    this.#upgradesActive = deps.stats.gauge('http.inbound.downstream_cx_upgrades_active');
    this.#upgradesRefused = deps.stats.counter('http.inbound.downstream_rq_ws_on_non_ws_route');
    this.#rqTotal = deps.stats.counter('http.inbound.downstream_rq_total');
    this.#rqActive = deps.stats.gauge('http.inbound.downstream_rq_active');
    this.#rqByClass = [1, 2, 3, 4, 5].map((c) => deps.stats.counter(`http.inbound.downstream_rq_${c}xx`));
  }

  handle(req: IncomingMessage, res: ServerResponse, context: RequestContext): void {
    const startTime = Date.now();
    const snapshot = this.#deps.store.current;
    this.#rqTotal.inc();
    this.#rqActive.inc();

    const url = req.url ?? '/';
    let target = url;
    const h2 = req.httpVersionMajor === 2;
    let host = h2 ? (req.headers[':authority'] as string | undefined) ?? req.headers.host : req.headers.host;
    if (url.charCodeAt(0) !== 47 /* '/' */ && url !== '*') {
      // absolute-form request target: take the authority from it, as Envoy does
      try {
        const u = new URL(url);
        target = `${u.pathname}${u.search}`;
        host = u.host;
      } catch {
        target = url;
      }
    }
    const q = target.indexOf('?');
    const routeReq: RouteRequest = {
      method: req.method ?? 'GET',
      path: q < 0 ? target : target.slice(0, q),
      query: q < 0 ? '' : target.slice(q + 1),
      headers: req.headers,
      sourcePrincipal: context.kind === 'tunnel' ? context.principal : undefined,
    };
    const log: AccessLogEntry = {
      startTime,
      method: routeReq.method,
      path: target,
      // Envoy's %PROTOCOL%: HTTP/1.0, HTTP/1.1 or HTTP/2 (never "HTTP/2.0").
      protocol: h2 ? 'HTTP/2' : `HTTP/${req.httpVersion}`,
      responseCode: 0,
      responseFlags: '-',
      responseCodeDetails: '',
      bytesReceived: 0,
      bytesSent: 0,
      durationMs: 0,
      xForwardedFor: headerString(req.headers['x-forwarded-for']),
      userAgent: req.headers['user-agent'],
      requestId: headerString(req.headers['x-request-id']),
      authority: host,
      downstreamLocalAddress: '',
      downstreamRemoteAddress: '',
    };
    if (this.#deps.accessLog) {
      log.downstreamLocalAddress = context.kind === 'tunnel' ? endpointKey(context.ip, context.port) : `${peerAddress(req.socket.localAddress)}:${req.socket.localPort}`;
      log.downstreamRemoteAddress =
        context.kind === 'tunnel' ? endpointKey(context.source, context.sourcePort ?? 0) : `${peerAddress(req.socket.remoteAddress)}:${req.socket.remotePort}`;
    }
    const ex: Exchange = { req, res, log, upstreamStart: 0, controller: undefined, done: false, attempt: 0 };
    res.once('close', () => this.#finish(ex));

    if (!snapshot) return this.#local(ex, 503, 'no healthy upstream', 'UH', 'no_healthy_upstream');
    // CONNECT is not enabled on Istio's connection manager: Envoy answers it with a 403 of its own.
    if (routeReq.method === 'CONNECT') return this.#refuseUpgrade(ex);
    let decision: RouteDecision;
    try {
      decision = context.kind === 'plain' ? snapshot.router.routePlain(context.gatewayPort, host, routeReq) : snapshot.router.routeAddress(context.ip, context.port, routeReq);
    } catch (e) {
      this.#deps.onError(e as Error, 'routing');
      return this.#local(ex, 500, '', '-', 'internal_error');
    }
    log.routeName = decision.routeName;
    if (isHandedOver(req)) {
      ex.upgrade = req.headers.upgrade!;
    } else if (isRefusedUpgrade(req) && !(decision.kind === 'local' && decision.details === 'route_not_found')) {
      // A route that matched an upgrade it is not set up for: Envoy's 403, and the connection closes.
      return this.#refuseUpgrade(ex);
    }
    if (decision.kind === 'local') return this.#local(ex, decision.status, decision.body, decision.flag, decision.details);
    if (decision.kind === 'redirect') {
      const { name, port } = parseHost(host);
      const location = redirectLocation(decision.redirect, { scheme: 'http', hostName: name, port, path: routeReq.path, query: routeReq.query }, decision.matchedPrefix);
      return this.#local(ex, decision.redirect.statusCode, '', '-', 'redirect', ['location', location]);
    }

    let endpoint;
    let serviceTarget: ServiceTarget | undefined;
    if (decision.kind === 'forward') {
      serviceTarget = decision.target;
      log.upstreamCluster = serviceTarget.clusterName;
      endpoint = serviceTarget.hash ? this.#pickHashed(ex, serviceTarget, routeReq, context) : serviceTarget.endpoints.pick();
      if (!endpoint) return this.#local(ex, 503, 'no healthy upstream', 'UH', 'no_healthy_upstream');
      ex.picked = endpoint;
      ex.pickedFrom = serviceTarget.endpoints;
    } else {
      log.upstreamCluster = decision.clusterName;
      endpoint = decision.endpoint;
    }

    const peer = context.kind === 'tunnel' ? context.source : peerAddress(req.socket.remoteAddress);
    const forwarded = upstreamRequestHeaders(req.rawHeaders, { peer, proto: 'http' });
    let headers = forwarded.headers;
    log.requestId = forwarded.requestId;
    if (host !== req.headers.host && host) headers.push('host', host);
    // To an HTTP/1.1 endpoint the upgrade goes on as it came; to an HTTP/2 one it becomes extended CONNECT.
    if (ex.upgrade && !serviceTarget?.http2) headers.push('connection', 'upgrade', 'upgrade', ex.upgrade);
    const actions = decision.kind === 'forward' ? decision.actions : undefined;
    if (actions) {
      ex.responseHeaders = actions.responseHeaders;
      if (actions.requestHeaders) headers = modifyHeaders(headers, actions.requestHeaders);
      const rw = actions.rewrite;
      if (rw?.path) {
        const path = modifyPath(routeReq.path, rw.path, actions.matchedPrefix);
        headers.push('x-envoy-original-path', routeReq.path);
        target = routeReq.query ? `${path}?${routeReq.query}` : path;
      }
      if (rw?.hostname) host = rw.hostname;
    }
    const cors = actions?.cors;
    if (cors) {
      const origin = headerString(req.headers.origin);
      if (origin !== undefined) {
        const preflight = routeReq.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined;
        if (cors.allowsOrigin(origin)) {
          if (preflight) return this.#local(ex, 200, '', '-', 'cors_response', corsHeaders(cors, origin, req.headers));
          ex.corsHeaders = corsHeaders(cors, origin, undefined);
        } else if (preflight && !cors.forwardUnmatchedPreflights) {
          return this.#local(ex, 200, '', '-', 'cors_response', corsHeaders(cors, undefined, req.headers));
        }
      }
    }
    // An upgrade's bytes after its head belong to the new protocol and go through the tunnel.
    const hasBody = ex.upgrade ? false : req.headers['content-length'] !== undefined ? req.headers['content-length'] !== '0' : req.headers['transfer-encoding'] !== undefined;
    if (actions?.timeoutMs) {
      headers.push('x-envoy-expected-rq-timeout-ms', String(actions.timeoutMs));
      this.#startRouteTimer(ex, actions.timeoutMs, hasBody);
    }
    ex.upstream = {
      path: target,
      method: routeReq.method,
      host,
      headers,
      hasBody,
      http2: serviceTarget?.http2 ?? false,
      target: serviceTarget,
      clusterName: log.upstreamCluster,
      retry: decision.retry,
      retriesLeft: decision.retry.numRetries,
      endpoint,
      tried: undefined,
      bodyCopy: hasBody ? [] : undefined,
      bodyCopyBytes: 0,
    };
    ex.attempt = 1;
    const fault = actions?.fault;
    if (fault) {
      const abort = fault.abort;
      if (abort && (abort.fraction >= 1 || Math.random() < abort.fraction)) {
        if (abort.grpcStatus !== undefined && isGrpcRequest(req)) return this.#grpcLocal(ex, 0, 'fault filter abort', 'FI', 'fault_filter_abort', abort.grpcStatus);
        return this.#local(ex, abort.httpStatus ?? 503, 'fault filter abort', 'FI', 'fault_filter_abort');
      }
      const delay = fault.delay;
      if (delay && (delay.fraction >= 1 || Math.random() < delay.fraction)) {
        log.responseFlags = 'DI';
        const plan = ex.upstream;
        ex.retryTimer = setTimeout(() => {
          ex.retryTimer = undefined;
          if (ex.done) return;
          this.#try(ex, plan, endpoint);
          if (actions.mirrors && !ex.upgrade) this.#mirror(ex, plan, actions.mirrors);
        }, delay.ms);
        return;
      }
    }
    this.#try(ex, ex.upstream, endpoint);
    if (actions?.mirrors && !ex.upgrade) this.#mirror(ex, ex.upstream, actions.mirrors);
  }

  /**
   * Consistent hashing (DestinationRule consistentHash): the request's key (a header, a cookie, the source
   * IP or a query parameter) picks the endpoint; without a key, any endpoint. A cookie policy with a ttl
   * issues the cookie when the request has none, as Envoy does, so the client sticks from then on.
   */
  #pickHashed(ex: Exchange, target: ServiceTarget, req: RouteRequest, context: RequestContext): EndpointIR | undefined {
    const key = target.hash!;
    let value: string | undefined;
    switch (key.kind) {
      case 'header':
        value = headerString(req.headers[key.name]);
        break;
      case 'sourceIp':
        value = context.kind === 'tunnel' ? context.source : peerAddress(ex.req.socket.remoteAddress);
        break;
      case 'query':
        value = new QueryView(req.query).get(key.name) ?? undefined;
        break;
      case 'cookie': {
        value = cookieValue(headerString(req.headers.cookie), key.name);
        if (value === undefined && key.ttlSeconds !== undefined) {
          value = crypto.randomBytes(8).toString('hex');
          const attrs = [`${key.name}="${value}"`, ...(key.ttlSeconds > 0 ? [`Max-Age=${key.ttlSeconds}`] : []), ...(key.path ? [`Path=${key.path}`] : []), 'HttpOnly'];
          ex.setCookie = attrs.join('; ');
        }
        break;
      }
    }
    return target.endpoints.pick(value === undefined ? undefined : hashKey(value));
  }

  /**
   * RequestMirror: a copy of the request to each mirror's Service, for its share of requests, once the
   * request body is complete (bodies are replayed from the retry copy, so up to 1 MiB). Host gets
   * Envoy's `-shadow` suffix; answers and failures are discarded and never touch the client's exchange.
   */
  #mirror(ex: Exchange, plan: UpstreamPlan, mirrors: readonly { target: ServiceTarget; fraction: number }[]): void {
    for (const m of mirrors) {
      if (m.fraction < 1 && Math.random() >= m.fraction) continue;
      const endpoint = m.target.endpoints.pick();
      if (!endpoint) continue;
      m.target.endpoints.release?.(endpoint); // a mirror's requests are not counted in flight
      const headers = plan.headers.slice();
      for (let i = 0; i < headers.length; i += 2) if (headers[i]!.toLowerCase() === 'host') headers[i + 1] = shadowHost(headers[i + 1]!);
      const send = (body: Buffer | null) => {
        if (m.target.http2) {
          const upstream = upstreamEndpoint(endpoint, this.#deps.trustDomain);
          const h2headers = h2RequestHeaders(headers, plan.method, plan.path, shadowHost(plan.host ?? endpointKey(upstream.address, upstream.port)));
          this.#deps.h2.session(upstream).then(
            (session) => {
              const stream = session.request(h2headers, { endStream: body === null });
              stream.on('error', () => {}).resume();
              if (body) stream.end(body);
            },
            () => {},
          );
          return;
        }
        try {
          this.#deps.pools.forEndpoint(endpoint).pool.dispatch({ path: plan.path, method: plan.method, headers, body }, DISCARD);
        } catch {
          // A mirror that cannot be sent is dropped, as Envoy's shadow requests are.
        }
      };
      if (!plan.hasBody) send(null);
      else ex.req.once('end', () => plan.bodyCopy && send(Buffer.concat(plan.bodyCopy)));
    }
  }

  /** One try upstream: to `endpoint`, with the body streamed (first try) or replayed from the copy (retries). */
  #try(ex: Exchange, plan: UpstreamPlan, endpoint: EndpointIR): void {
    const n = ex.attempt;
    plan.endpoint = endpoint;
    if (plan.target) {
      ex.picked = endpoint;
      ex.pickedFrom = plan.target.endpoints;
    }
    // HTTP/1.1 endpoints come with their pool and `ip:port` cached; h2c ones have a session of their own
    // (an upgrade to them included), and an upgrade to an HTTP/1.1 endpoint a connection of its own.
    const http1 = plan.http2 || ex.upgrade ? undefined : this.#deps.pools.forEndpoint(endpoint);
    ex.log.upstreamHost = http1 ? http1.host : endpointKey(endpoint.address, endpoint.port);
    ex.upstreamStart = performance.now();
    ex.controller = undefined;
    ex.cancel = undefined;
    const body = !plan.hasBody ? null : n === 1 ? ex.req : Buffer.concat(plan.bodyCopy!);
    if (plan.retry.perTryTimeoutMs) {
      clearTimeout(ex.tryTimer);
      ex.tryTimer = setTimeout(() => this.#tryTimedOut(ex, n), plan.retry.perTryTimeoutMs);
    }
    if (ex.upgrade) return plan.http2 ? this.#tryUpgradeH2(ex, n, plan, endpoint) : this.#tryUpgrade(ex, n, plan, endpoint);
    if (!http1) return this.#forwardH2(ex, n, upstreamEndpoint(endpoint, this.#deps.trustDomain), plan, body);
    try {
      http1.pool.dispatch(
        { path: plan.path, method: plan.method, headers: plan.headers, body },
        this.#upstreamHandler(ex, n),
      );
    } catch (e) {
      this.#upstreamFailed(ex, e as Error, n);
    }
  }

  /**
   * One try of a WebSocket upgrade, on a connection of its own (it never returns to a pool). A 101 from the
   * endpoint is passed on and the two connections are spliced; any other answer is forwarded as usual and
   * the downstream connection closes after it. Failures before the answer retry and reply as for any request.
   */
  #tryUpgrade(ex: Exchange, n: number, plan: UpstreamPlan, endpoint: EndpointIR): void {
    const upstream = upstreamEndpoint(endpoint, this.#deps.trustDomain);
    const current = () => !ex.done && !ex.timedOut && n === ex.attempt;
    this.#deps.transport.open(upstream).then(
      (conn) => {
        if (!current()) return void conn.destroy();
        const rq = httpRequest({ createConnection: () => conn as never, method: plan.method, path: plan.path, headers: plan.headers });
        ex.cancel = () => rq.destroy();
        rq.on('error', (err) => {
          conn.destroy();
          if (!ex.upgraded) this.#upstreamFailed(ex, err, n);
        });
        rq.on('upgrade', (answer: IncomingMessage, socket: Duplex, head: Buffer) => {
          if (!current()) return void socket.destroy();
          this.#switched(ex, lowerCaseFlat(answer.rawHeaders), answer.headers.upgrade ?? ex.upgrade!, socket, head);
        });
        rq.on('response', (answer: IncomingMessage) => {
          if (!current()) return void conn.destroy();
          const headers = lowerCaseFlat(answer.rawHeaders);
          if (this.#answerRetried(ex, answer.statusCode ?? 502, headers)) return void conn.destroy();
          this.#responseStart(ex, answer.statusCode ?? 502, headers);
          answer.on('data', (chunk: Buffer) => (ex.log.bytesSent += chunk.length));
          answer.once('end', () => conn.destroy());
          answer.pipe(ex.res);
          // Cut off mid-body: the client's connection is reset, as for any response.
          answer.on('close', () => {
            if (!answer.complete) this.#upstreamFailed(ex, Object.assign(new Error('upstream connection closed mid-response'), { code: 'ECONNRESET' }), n);
          });
        });
        rq.end();
      },
      (err: Error) => this.#upstreamFailed(ex, err, n),
    );
  }

  /**
   * One try of a WebSocket upgrade to an HTTP/2 (h2c) endpoint, as Envoy carries an upgrade over an HTTP/2
   * hop: an extended CONNECT stream (RFC 8441) on the endpoint's shared session, `:protocol` set to the
   * `Upgrade` value and `Upgrade` / `Connection` left out. A `200` is the switch: the client gets a `101`
   * with `Upgrade` and `Connection: upgrade`, and the stream carries the bytes both ways. Any other answer
   * is forwarded and the client connection closes after it; a stream reset before the answer (an endpoint
   * that does not offer extended CONNECT resets it) fails the try like any reset.
   */
  #tryUpgradeH2(ex: Exchange, n: number, plan: UpstreamPlan, endpoint: EndpointIR): void {
    const upstream = upstreamEndpoint(endpoint, this.#deps.trustDomain);
    const headers = h2RequestHeaders(plan.headers, 'CONNECT', plan.path, plan.host ?? endpointKey(upstream.address, upstream.port));
    headers[':protocol'] = ex.upgrade!;
    if (headers['content-length'] === '0') delete headers['content-length'];
    const current = () => !ex.done && !ex.timedOut && n === ex.attempt;
    this.#deps.h2.session(upstream).then(
      (session) => {
        if (!current()) return;
        let stream: ClientHttp2Stream;
        try {
          stream = session.request(headers);
        } catch (e) {
          return this.#upstreamFailed(ex, e as Error, n);
        }
        ex.cancel = () => stream.close(http2().constants.NGHTTP2_CANCEL);
        /** Whether the client's answer is this stream's refusal (not a local reply). */
        let answered = false;
        stream.on('error', (err) => !ex.upgraded && this.#upstreamFailed(ex, err, n));
        stream.on('close', () => current() && !ex.upgraded && this.#h2StreamClosed(ex, n, stream, answered));
        stream.on('response', (h) => {
          if (!current()) return void stream.close(http2().constants.NGHTTP2_CANCEL);
          const status = Number(h[':status']);
          const out = responseHeaderList(h);
          if (status === 200) return this.#switched(ex, out, ex.upgrade!, stream, EMPTY);
          if (this.#answerRetried(ex, status, out)) return void stream.close(http2().constants.NGHTTP2_CANCEL);
          this.#responseStart(ex, status, out);
          answered = true;
          stream.on('data', (chunk: Buffer) => (ex.log.bytesSent += chunk.length));
          stream.pipe(ex.res, { end: false });
          stream.on('end', () => current() && !stream.rstCode && ex.res.end());
        });
      },
      (err: Error) => this.#upstreamFailed(ex, err, n),
    );
  }

  /** The endpoint switched protocols: its 101 goes to the client, then bytes flow both ways until either side closes. */
  #switched(ex: Exchange, answerHeaders: readonly string[], upgrade: string, upstream: Duplex, head: Buffer): void {
    const { log } = ex;
    clearTimeout(ex.timer); // the route timeout covers the wait for the switch, not the tunnel's life
    ex.upgraded = true;
    ex.cancel = undefined;
    this.#upgradesTotal.inc();
    this.#upgradesActive.inc();
    const out = this.#answerHeaders(ex, 101, answerHeaders, false);
    out.push('connection', 'upgrade', 'upgrade', upgrade);
    let text = 'HTTP/1.1 101 Switching Protocols\r\n';
    for (let i = 0; i < out.length; i += 2) text += `${out[i]}: ${out[i + 1]}\r\n`;
    const downstream = ex.req.socket as Duplex;
    downstream.write(`${text}\r\n`, 'latin1');
    if (head.length > 0) {
      log.bytesSent += head.length;
      downstream.write(head);
    }
    downstream.on('data', (chunk: Buffer) => (log.bytesReceived += chunk.length));
    upstream.on('data', (chunk: Buffer) => (log.bytesSent += chunk.length));
    // Neither side is left half-open: a side that ends (or closes) has what is queued for it flushed and is
    // then closed, and so is the other side; an error on either resets both.
    const close = (side: Duplex) => {
      if (!side.destroyed) side.end(() => side.destroy());
    };
    const reset = () => {
      downstream.destroy();
      upstream.destroy();
    };
    downstream.on('error', reset);
    upstream.on('error', reset);
    downstream.on('end', () => close(downstream));
    upstream.on('end', () => close(upstream));
    downstream.on('close', () => close(upstream));
    upstream.on('close', () => close(downstream));
    downstream.pipe(upstream);
    upstream.pipe(downstream);
  }

  /** Envoy's answer to an upgrade (or CONNECT) it is not set up to carry: 403, then the connection closes. */
  #refuseUpgrade(ex: Exchange): void {
    this.#upgradesRefused.inc();
    // An HTTP/2 stream just ends; the connection goes on (HTTP/2 has no Connection header).
    this.#local(ex, 403, '', '-', 'upgrade_failed', ex.req.httpVersionMajor === 2 ? [] : ['connection', 'close']);
  }

  /** A try outlived its per-try timeout before the response started: retried when the policy retries timeouts, else 504 UT. */
  #tryTimedOut(ex: Exchange, n: number): void {
    if (n !== ex.attempt || ex.done || ex.timedOut || ex.res.headersSent) return;
    const { controller, cancel } = ex;
    const retried = ex.upstream!.retry.retriesTimeouts && this.#retry(ex);
    if (!retried) ex.timedOut = true;
    controller?.abort(new Error('per-try timeout'));
    cancel?.();
    if (!retried) this.#local(ex, 504, 'upstream request timeout', 'UT', 'upstream_per_try_timeout');
  }

  /** Keeps what the first try sent of the body, for retries, up to the limit. */
  #copyBody(ex: Exchange, n: number, chunk: Buffer | string): void {
    const plan = ex.upstream!;
    if (n !== 1) return;
    ex.log.bytesReceived += chunk.length;
    if (!plan.bodyCopy) return;
    plan.bodyCopyBytes += chunk.length;
    if (plan.bodyCopyBytes > RETRY_BODY_LIMIT) plan.bodyCopy = undefined;
    else plan.bodyCopy.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  }

  /**
   * Starts the next try after Envoy's back-off (fully jittered, exponential from the base, capped at ten
   * times it), to an endpoint not tried before when the Service has one. False when no retry is possible:
   * none left, or a body that was not (or could not be) kept whole.
   */
  #retry(ex: Exchange): boolean {
    const plan = ex.upstream!;
    if (plan.retriesLeft <= 0 || ex.done || ex.timedOut) return false;
    if (plan.hasBody && (!plan.bodyCopy || !ex.req.readableEnded)) return false;
    plan.retriesLeft--;
    const retryNumber = plan.retry.numRetries - plan.retriesLeft;
    this.#deps.stats.counter(`cluster.${plan.clusterName}.upstream_rq_retry`).inc();
    ex.attempt++;
    const tried = (plan.tried ??= []);
    tried.push(plan.endpoint);
    this.#release(ex);
    const ceiling = Math.min(plan.retry.backoffBaseMs * 2 ** (retryNumber - 1), plan.retry.backoffMaxMs);
    ex.retryTimer = setTimeout(() => {
      ex.retryTimer = undefined;
      if (ex.done || ex.timedOut) return;
      // Another endpoint than those tried, when one is ready (Envoy's previous_hosts predicate).
      const endpoint = plan.target?.endpoints.pick(undefined, tried);
      this.#try(ex, plan, endpoint ?? plan.endpoint);
    }, Math.random() * ceiling);
    return true;
  }

  /** Whether an upstream answer is one the policy retries: a listed status, or a gRPC status in a trailers-only answer. */
  #retriableAnswer(policy: RetryPolicy, status: number, headers: readonly string[]): boolean {
    if (policy.statuses.has(status)) return true;
    if (policy.grpcStatuses.size === 0) return false;
    const grpc = headerValue(headers, 'grpc-status');
    return grpc !== undefined && policy.grpcStatuses.has(Number(grpc));
  }

  /** Whether a failure before the response headers is one the policy retries. */
  #retriableFailure(policy: RetryPolicy, failure: UpstreamFailure): boolean {
    if (failure.flag === 'UF') return policy.connectFailure;
    if (failure.flag === 'UR') return policy.refusedStream;
    return policy.reset && failure.status === 503;
  }

  #upstreamHandler(ex: Exchange, n: number): UpstreamHandler {
    const { res, log } = ex;
    return {
      onRequestStart: (controller) => {
        if (n !== ex.attempt) return controller.abort(new Error('try abandoned'));
        ex.controller = controller;
        if (ex.done) controller.abort(new Error('downstream closed'));
      },
      onBodySent: (chunk) => this.#copyBody(ex, n, chunk),
      onResponseStart: (controller, statusCode, headers) => {
        if (ex.done || ex.timedOut || n !== ex.attempt) return;
        if (this.#answerRetried(ex, statusCode, headers)) return controller.abort(new Error('retrying'));
        this.#responseStart(ex, statusCode, headers);
      },
      onResponseData: (controller, chunk, last) => {
        if (ex.done || ex.timedOut || n !== ex.attempt) return;
        log.bytesSent += chunk.length;
        if (last) return void res.end(chunk); // the whole rest of the body: head and body leave in one write
        if (!res.write(chunk)) {
          controller.pause();
          res.once('drain', () => controller.resume());
        }
      },
      onResponseEnd: () => {
        if (!ex.done && !ex.timedOut && n === ex.attempt && !res.writableEnded) res.end();
      },
      onResponseError: (_controller, err) => this.#upstreamFailed(ex, err, n),
    };
  }

  /** True when an answer is retried instead of forwarded; a retriable answer with no retry left is forwarded, flagged URX. */
  #answerRetried(ex: Exchange, status: number, headers: readonly string[]): boolean {
    const plan = ex.upstream!;
    if (!this.#retriableAnswer(plan.retry, status, headers)) {
      if (ex.attempt > 1) this.#deps.stats.counter(`cluster.${plan.clusterName}.upstream_rq_retry_success`).inc();
      return false;
    }
    if (this.#retry(ex)) return true;
    if (plan.retry.numRetries > 0) {
      ex.log.responseFlags = 'URX';
      this.#deps.stats.counter(`cluster.${plan.clusterName}.upstream_rq_retry_limit_exceeded`).inc();
    }
    return false;
  }

  #responseStart(ex: Exchange, statusCode: number, headers: readonly string[]): void {
    const h2 = ex.req.httpVersionMajor === 2;
    const out = this.#answerHeaders(ex, statusCode, headers, this.#deps.draining() && !h2);
    ex.res.writeHead(statusCode, h2 ? headerObject(out) : out);
  }

  /**
   * The head of an upstream answer as the client gets it, with the answer logged: hop-by-hop headers
   * out, `server`, `x-envoy-upstream-service-time`, an issued cookie, CORS headers, `connection: close`
   * when `closing`, then the route's response header changes.
   */
  #answerHeaders(ex: Exchange, statusCode: number, headers: readonly string[], closing: boolean): string[] {
    const { log } = ex;
    clearTimeout(ex.tryTimer);
    const serviceTime = Math.round(performance.now() - ex.upstreamStart);
    log.upstreamServiceTimeMs = serviceTime;
    log.responseCode = statusCode;
    log.responseCodeDetails = 'via_upstream';
    const extra = ['x-envoy-upstream-service-time', String(serviceTime)];
    if (ex.setCookie) extra.push('set-cookie', ex.setCookie);
    if (ex.corsHeaders) extra.push(...ex.corsHeaders);
    if (closing) extra.push('connection', 'close');
    const out = downstreamResponseHeaders(headers, SERVER_HEADER, extra);
    return ex.responseHeaders ? modifyHeaders(out, ex.responseHeaders) : out;
  }

  /** HTTP/2 (h2c) to the endpoint, trailers included (gRPC), on a session shared by all its requests. */
  #forwardH2(ex: Exchange, n: number, upstream: UpstreamEndpoint, plan: UpstreamPlan, body: IncomingMessage | Buffer | null): void {
    const { req, res, log } = ex;
    const headers = h2RequestHeaders(plan.headers, plan.method, plan.path, plan.host ?? endpointKey(upstream.address, upstream.port));
    const current = () => !ex.done && n === ex.attempt;
    this.#deps.h2.session(upstream).then(
      (session) => {
        if (!current()) return;
        let stream: ClientHttp2Stream;
        try {
          stream = session.request(headers, { endStream: body === null });
        } catch (e) {
          return this.#upstreamFailed(ex, e as Error, n);
        }
        ex.cancel = () => stream.close(http2().constants.NGHTTP2_CANCEL);
        if (body === req) {
          req.on('data', (chunk: Buffer) => this.#copyBody(ex, n, chunk));
          req.pipe(stream);
        } else if (body) stream.end(body);
        /** Whether the client's answer is this stream's (not a local reply). */
        let answered = false;
        stream.on('response', (h) => {
          if (!current()) return;
          const out = responseHeaderList(h);
          const status = Number(h[':status']);
          if (this.#answerRetried(ex, status, out)) return stream.close(http2().constants.NGHTTP2_CANCEL);
          this.#responseStart(ex, status, out);
          answered = true;
        });
        stream.on('data', (chunk: Buffer) => {
          if (!current()) return;
          log.bytesSent += chunk.length;
          if (!res.write(chunk)) {
            stream.pause();
            res.once('drain', () => stream.resume());
          }
        });
        stream.on('trailers', (t) => {
          const out: Record<string, string> = {};
          for (const k in t) if (k.charCodeAt(0) !== 58 && t[k] !== undefined) out[k] = String(t[k]);
          if (current()) res.addTrailers(out);
        });
        // A stream also ends when it is reset or its connection goes away (rstCode set): that answer is cut off.
        stream.on('end', () => current() && answered && !stream.rstCode && res.end());
        stream.on('error', (err) => this.#upstreamFailed(ex, err, n));
        stream.on('close', () => current() && this.#h2StreamClosed(ex, n, stream, answered));
      },
      (err: Error) => this.#upstreamFailed(ex, err, n),
    );
  }

  /**
   * An upstream HTTP/2 stream of the current try closed. Before any answer it is a reset (refused, or
   * anything else); after the head of its own answer, a reset or a lost connection cuts that answer off
   * (Node.js ends such a stream without an error), and a clean close ends it. `answered` tells the stream's
   * own answer from a local reply already sent.
   */
  #h2StreamClosed(ex: Exchange, n: number, stream: ClientHttp2Stream, answered: boolean): void {
    const { res } = ex;
    if (!res.headersSent) {
      const refused = stream.rstCode === http2().constants.NGHTTP2_REFUSED_STREAM;
      return this.#upstreamFailed(ex, Object.assign(new Error(`HTTP/2 stream reset (code ${stream.rstCode})`), { code: refused ? 'HTTP2_REFUSED_STREAM' : 'ECONNRESET' }), n);
    }
    if (!answered) return;
    if (stream.rstCode) return this.#upstreamFailed(ex, Object.assign(new Error(`HTTP/2 stream reset mid-response (code ${stream.rstCode})`), { code: 'ECONNRESET' }), n);
    if (!res.writableEnded) res.end();
  }

  /** Envoy's route timeout: from the end of the request to the end of the response; 504 UT before headers. */
  #startRouteTimer(ex: Exchange, ms: number, hasBody: boolean): void {
    const start = () => {
      if (ex.done) return;
      ex.timer = setTimeout(() => {
        if (ex.done) return;
        ex.timedOut = true;
        ex.controller?.abort(new Error('route timeout'));
        ex.cancel?.();
        if (!ex.res.headersSent) return this.#local(ex, 504, 'upstream request timeout', 'UT', 'response_timeout');
        ex.log.responseFlags = 'UT';
        ex.res.destroy();
      }, ms);
    };
    // A request without a body is complete now; a body ends when the upstream has read it all.
    if (!hasBody || ex.req.readableEnded) start();
    else ex.req.once('end', start);
  }

  #upstreamFailed(ex: Exchange, err: Error, n: number): void {
    const { res, log } = ex;
    if (ex.done || ex.timedOut || n !== ex.attempt) return; // the downstream went away, the timeout fired, or this try was abandoned
    const failure = classifyUpstreamError(err);
    log.upstreamTransportFailureReason = (err as NodeJS.ErrnoException).code ?? err.message;
    if (res.headersSent) {
      // Mid-response: nothing sensible can be sent, so the downstream connection is reset, as Envoy does.
      log.responseFlags = failure.flag === 'UF' ? 'UC' : failure.flag;
      log.responseCodeDetails = 'upstream_reset_after_response_started{connection_termination}';
      res.destroy();
      return;
    }
    const plan = ex.upstream;
    let flag = failure.flag;
    if (plan && this.#retriableFailure(plan.retry, failure)) {
      if (this.#retry(ex)) return;
      if (plan.retry.numRetries > 0 && plan.retriesLeft === 0) {
        flag = `${flag},URX`;
        this.#deps.stats.counter(`cluster.${plan.clusterName}.upstream_rq_retry_limit_exceeded`).inc();
      }
    }
    this.#local(ex, failure.status, upstreamFailureBody(failure, ex.attempt > 1), flag, failure.details);
  }

  #local(ex: Exchange, status: number, body: string, flag: string, details: string, extra: readonly string[] = []): void {
    const { res, log } = ex;
    if (status >= 400 && isGrpcRequest(ex.req)) return this.#grpcLocal(ex, status, body, flag, details);
    log.responseCode = status;
    log.responseFlags = flag;
    log.responseCodeDetails = details;
    log.bytesSent = Buffer.byteLength(body);
    const headers = ['server', SERVER_HEADER, 'content-length', String(log.bytesSent), ...extra];
    if (body) headers.push('content-type', 'text/plain');
    const h2 = ex.req.httpVersionMajor === 2;
    if (this.#deps.draining() && !h2) headers.push('connection', 'close');
    res.writeHead(status, h2 ? headerObject(headers) : headers);
    res.end(body);
  }

  /**
   * A local reply to a gRPC client, as Envoy converts it: HTTP 200 with `grpc-status` from gRPC's
   * HTTP-to-gRPC mapping and the reply text as `grpc-message`, trailers-only (one HEADERS frame that
   * ends the stream) on HTTP/2.
   */
  #grpcLocal(ex: Exchange, status: number, body: string, flag: string, details: string, grpcStatus = grpcStatusForHttp(status)): void {
    const { res, log } = ex;
    log.responseCode = 200;
    log.responseFlags = flag;
    log.responseCodeDetails = details;
    log.bytesSent = 0;
    const headers: Record<string, string> = {
      'content-type': 'application/grpc',
      'grpc-status': String(grpcStatus),
      server: SERVER_HEADER,
    };
    if (body) headers['grpc-message'] = encodeURIComponent(body);
    const stream = (res as unknown as { stream?: ServerHttp2Stream }).stream;
    if (ex.req.httpVersionMajor === 2 && stream && !stream.headersSent) {
      ex.repliedOnStream = true;
      stream.respond({ ':status': 200, ...headers }, { endStream: true });
      return;
    }
    res.writeHead(200, { ...headers, 'content-length': '0', ...(this.#deps.draining() ? { connection: 'close' } : {}) });
    res.end();
  }

  /** The picked endpoint is no longer in flight for this exchange. */
  #release(ex: Exchange): void {
    if (!ex.picked) return;
    ex.pickedFrom?.release?.(ex.picked);
    ex.picked = undefined;
  }

  #finish(ex: Exchange): void {
    const { res, log } = ex;
    ex.done = true;
    clearTimeout(ex.timer);
    clearTimeout(ex.retryTimer);
    clearTimeout(ex.tryTimer);
    this.#release(ex);
    this.#rqActive.dec();
    if (ex.upgraded) this.#upgradesActive.dec();
    else if (!res.writableFinished && !ex.repliedOnStream) {
      // The client went away before the response was complete.
      if (log.responseFlags === '-') log.responseFlags = 'DC';
      ex.controller?.abort(new Error('downstream connection closed'));
      ex.cancel?.();
      if (!res.headersSent) log.responseCode = 0;
    }
    const cls = Math.floor(log.responseCode / 100);
    if (cls >= 1 && cls <= 5) this.#rqByClass[cls - 1]!.inc();
    if (this.#deps.accessLog) {
      log.durationMs = Date.now() - log.startTime;
      this.#deps.accessLog.log(log);
    }
  }
}

/** Raw [name, value, …] with names lower-cased, as the upstream clients hand headers over. */
function lowerCaseFlat(raw: readonly string[]): string[] {
  const out = new Array<string>(raw.length);
  for (let i = 0; i < raw.length; i += 2) {
    out[i] = raw[i]!.toLowerCase();
    out[i + 1] = raw[i + 1]!;
  }
  return out;
}

function isGrpcRequest(req: IncomingMessage): boolean {
  const type = req.headers['content-type'];
  return type !== undefined && type.startsWith('application/grpc');
}

/** gRPC's HTTP-to-gRPC status mapping (grpc/doc/http-grpc-status-mapping.md), which Envoy applies to local replies. */
function grpcStatusForHttp(status: number): number {
  switch (status) {
    case 400:
      return 13; // INTERNAL
    case 401:
      return 16; // UNAUTHENTICATED
    case 403:
      return 7; // PERMISSION_DENIED
    case 404:
      return 12; // UNIMPLEMENTED
    case 429:
    case 502:
    case 503:
    case 504:
      return 14; // UNAVAILABLE
    default:
      return 2; // UNKNOWN
  }
}

/**
 * Envoy's CORS response headers. The allowed origin (none for a preflight answered although its origin is
 * not allowed) and credentials; for a preflight (given its request headers) the allowed methods and
 * headers, where "*" echoes what the preflight asks for, and the max age; otherwise the exposed headers.
 */
function corsHeaders(c: CorsPolicy, origin: string | undefined, preflight: IncomingMessage['headers'] | undefined): string[] {
  const out = origin === undefined ? [] : ['access-control-allow-origin', origin];
  if (c.allowCredentials) out.push('access-control-allow-credentials', 'true');
  if (preflight) {
    const methods = c.allowMethods === '*' ? headerString(preflight['access-control-request-method']) : c.allowMethods;
    const headers = c.allowHeaders === '*' ? headerString(preflight['access-control-request-headers']) : c.allowHeaders;
    if (methods) out.push('access-control-allow-methods', methods);
    if (headers) out.push('access-control-allow-headers', headers);
    if (c.maxAge) out.push('access-control-max-age', c.maxAge);
  } else if (c.exposeHeaders) out.push('access-control-expose-headers', c.exposeHeaders);
  return out;
}

/** The value of cookie `name` in a Cookie header, unquoted. */
function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
  }
  return undefined;
}

/** An HTTP/2 request's headers from flat HTTP/1 ones: pseudo-headers, and Host carried as :authority. */
function h2RequestHeaders(flat: readonly string[], method: string, path: string, authority: string): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = { ...headerObject(flat), ':method': method, ':path': path, ':scheme': 'http', ':authority': authority };
  delete headers.host;
  return headers;
}

/** Envoy's shadow Host: `-shadow` after the host name, before any port. */
function shadowHost(host: string): string {
  const colon = host.lastIndexOf(':');
  return colon > 0 && !host.endsWith(']') ? `${host.slice(0, colon)}-shadow${host.slice(colon)}` : `${host}-shadow`;
}

/** Reads and drops a mirrored request's answer. */
const DISCARD: UpstreamHandler = {
  onRequestStart: () => {},
  onResponseStart: () => {},
  onResponseData: () => {},
  onResponseEnd: () => {},
  onResponseError: () => {},
};

const EMPTY = Buffer.alloc(0);

/** An HTTP/2 answer's headers as a flat [name, value, …] list, pseudo-headers left out. */
function responseHeaderList(h: IncomingHttpHeaders): string[] {
  const out: string[] = [];
  for (const k in h) {
    if (k.charCodeAt(0) === 58) continue; // pseudo-headers
    const v = h[k];
    if (Array.isArray(v)) for (const x of v) out.push(k, x);
    else if (v !== undefined) out.push(k, String(v));
  }
  return out;
}

/** Flat [name, value, …] to an object (repeated names become arrays), for HTTP/2 responses. */
function headerObject(flat: readonly string[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i < flat.length; i += 2) {
    const name = flat[i]!.toLowerCase();
    const prev = out[name];
    out[name] = prev === undefined ? flat[i + 1]! : Array.isArray(prev) ? [...prev, flat[i + 1]!] : [prev, flat[i + 1]!];
  }
  return out;
}

function headerString(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(',') : v;
}
