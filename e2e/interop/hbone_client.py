#!/usr/bin/env python3
"""An HBONE client built on Python's h2 (an HTTP/2 stack independent of Node's).

Opens one mutual-TLS HTTP/2 connection, sends N CONNECT streams (all at once), and inside each tunnel
sends one HTTP/1.1 request. Prints one JSON object: per stream, the CONNECT status and the HTTP reply.
"""
import argparse
import json
import select
import socket
import ssl
import sys

import h2.config
import h2.connection
import h2.events
import h2.settings


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--connect", required=True, help="host:port of the HBONE listener")
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--ca", required=True)
    ap.add_argument("--authority", required=True, help="CONNECT :authority, the original destination ip:port")
    ap.add_argument("--forwarded", default=None, help="value of the forwarded header, as ztunnel sends it")
    ap.add_argument("--streams", type=int, default=1)
    ap.add_argument("--host", default="example")
    ap.add_argument("--path", default="/")
    ap.add_argument("--timeout", type=float, default=30.0)
    args = ap.parse_args()

    host, port = args.connect.rsplit(":", 1)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.check_hostname = False  # ztunnel checks the SPIFFE identity, not a host name
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(args.ca)
    ctx.load_cert_chain(args.cert, args.key)
    ctx.set_alpn_protocols(["h2"])
    raw = socket.create_connection((host, int(port)), timeout=args.timeout)
    sock = ctx.wrap_socket(raw)
    if sock.selected_alpn_protocol() != "h2":
        print(json.dumps({"error": "ALPN h2 not negotiated"}))
        return 1
    server_san = [v for (k, v) in sock.getpeercert().get("subjectAltName", ()) if k == "URI"]

    conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True, header_encoding="utf-8", validate_outbound_headers=False))
    conn.initiate_connection()
    conn.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 4 * 1024 * 1024})
    conn.increment_flow_control_window(16 * 1024 * 1024)
    sock.sendall(conn.data_to_send())

    results = {}
    pending_open = args.streams
    open_streams = {}
    settings_seen = False

    def open_more():
        nonlocal pending_open
        while pending_open > 0 and conn.open_outbound_streams < conn.remote_settings.max_concurrent_streams:
            sid = conn.get_next_available_stream_id()
            headers = [(":method", "CONNECT"), (":authority", args.authority)]
            if args.forwarded:
                headers.append(("forwarded", args.forwarded))
            conn.send_headers(sid, headers)
            open_streams[sid] = b""
            results[sid] = {"connect": None, "reply": None}
            pending_open -= 1

    sock.settimeout(None)
    sock.setblocking(False)
    done = 0
    while done < args.streams:
        if settings_seen:
            open_more()
        out = conn.data_to_send()
        if out:
            sock.setblocking(True)
            sock.sendall(out)
            sock.setblocking(False)
        r, _, _ = select.select([sock], [], [], args.timeout)
        if not r:
            print(json.dumps({"error": "timeout", "done": done}))
            return 1
        try:
            data = sock.recv(1 << 20)
        except ssl.SSLWantReadError:
            continue
        if not data:
            print(json.dumps({"error": "connection closed", "done": done}))
            return 1
        for ev in conn.receive_data(data):
            if isinstance(ev, h2.events.RemoteSettingsChanged):
                settings_seen = True
            elif isinstance(ev, h2.events.ResponseReceived):
                status = dict(ev.headers).get(":status")
                results[ev.stream_id]["connect"] = int(status)
                if status == "200":
                    req = f"GET {args.path} HTTP/1.1\r\nHost: {args.host}\r\nUser-Agent: python-h2\r\nConnection: close\r\n\r\n"
                    conn.send_data(ev.stream_id, req.encode())
            elif isinstance(ev, h2.events.DataReceived):
                open_streams[ev.stream_id] = open_streams.get(ev.stream_id, b"") + ev.data
                conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
            elif isinstance(ev, (h2.events.StreamEnded, h2.events.StreamReset)):
                if results[ev.stream_id]["reply"] is None:
                    results[ev.stream_id]["reply"] = open_streams.get(ev.stream_id, b"").decode("latin1")
                    done += 1
                    if results[ev.stream_id]["connect"] == 200 and not isinstance(ev, h2.events.StreamReset):
                        try:
                            conn.end_stream(ev.stream_id)
                        except Exception:
                            pass
            elif isinstance(ev, h2.events.ConnectionTerminated):
                print(json.dumps({"error": "GOAWAY", "done": done}))
                return 1
    conn.close_connection()
    sock.setblocking(True)
    sock.sendall(conn.data_to_send())
    sock.close()
    print(json.dumps({"server_san": server_san, "streams": [results[k] for k in sorted(results)]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
