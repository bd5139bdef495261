#!/usr/bin/env python3
"""A destination ztunnel stand-in built on Python's h2: terminates HBONE and answers inside the tunnel.

Requires a client certificate from the CA (TLS 1.3, ALPN h2), answers CONNECT with 200 (or 400 for a
non-CONNECT), then answers each HTTP/1.1 request in the tunnel with JSON naming the CONNECT authority,
the peer's URI SAN and the request it received. Prints "LISTENING <port>" once ready.
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", required=True, help="host:port (port 0 picks one)")
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--ca", required=True)
    args = ap.parse_args()
    host, port = args.listen.rsplit(":", 1)

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(args.ca)
    ctx.load_cert_chain(args.cert, args.key)
    ctx.set_alpn_protocols(["h2"])

    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind((host, int(port)))
    lsock.listen(64)
    print(f"LISTENING {lsock.getsockname()[1]}", flush=True)

    conns = {}  # socket -> (H2Connection, peer_san, per-stream state)
    while True:
        readable, _, _ = select.select([lsock] + list(conns), [], [], 60)
        if not readable:
            return 0
        for s in readable:
            if s is lsock:
                raw, _ = lsock.accept()
                try:
                    tls = ctx.wrap_socket(raw, server_side=True)
                except (ssl.SSLError, OSError) as e:
                    print(json.dumps({"event": "handshake_failed", "error": str(e)}), flush=True)
                    raw.close()
                    continue
                san = [v for (k, v) in tls.getpeercert().get("subjectAltName", ()) if k == "URI"]
                c = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=False, header_encoding="utf-8", validate_inbound_headers=False))
                c.initiate_connection()
                tls.sendall(c.data_to_send())
                tls.setblocking(False)
                conns[tls] = (c, san, {})
                continue
            c, san, streams = conns[s]
            try:
                data = s.recv(1 << 20)
            except ssl.SSLWantReadError:
                continue
            except OSError:
                data = b""
            if not data:
                del conns[s]
                s.close()
                continue
            for ev in c.receive_data(data):
                if isinstance(ev, h2.events.RequestReceived):
                    h = dict(ev.headers)
                    if h.get(":method") != "CONNECT":
                        c.send_headers(ev.stream_id, [(":status", "400")], end_stream=True)
                        continue
                    streams[ev.stream_id] = {"authority": h.get(":authority"), "headers": h, "buf": b""}
                    print(json.dumps({"event": "connect", "authority": h.get(":authority"), "peer": san}), flush=True)
                    c.send_headers(ev.stream_id, [(":status", "200")])
                elif isinstance(ev, h2.events.DataReceived):
                    c.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                    st = streams.get(ev.stream_id)
                    if st is None:
                        continue
                    st["buf"] += ev.data
                    while b"\r\n\r\n" in st["buf"]:
                        head, rest = st["buf"].split(b"\r\n\r\n", 1)
                        lines = head.decode("latin1").split("\r\n")
                        fields = dict(l.split(": ", 1) for l in lines[1:] if ": " in l)
                        length = int(next((v for k, v in fields.items() if k.lower() == "content-length"), "0"))
                        if len(rest) < length:
                            break  # the rest of the request body is still on its way
                        request_body, st["buf"] = rest[:length], rest[length:]
                        body = json.dumps({
                            "ztunnel": True,
                            "authority": st["authority"],
                            "peer": san,
                            "connect_headers": {k: v for k, v in st["headers"].items() if not k.startswith(":")},
                            "request_line": lines[0],
                            "headers": fields,
                            "body": request_body.decode("latin1"),
                        }).encode()
                        resp = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: " + str(len(body)).encode() + b"\r\n\r\n" + body
                        size = c.max_outbound_frame_size
                        for i in range(0, len(resp), size):
                            c.send_data(ev.stream_id, resp[i:i + size])
                elif isinstance(ev, h2.events.StreamEnded):
                    try:
                        c.end_stream(ev.stream_id)
                    except Exception:
                        pass
            out = c.data_to_send()
            if out:
                s.setblocking(True)
                try:
                    s.sendall(out)
                except OSError:
                    pass
                s.setblocking(False)


if __name__ == "__main__":
    sys.exit(main())
