#!/usr/bin/env python3
"""An HTTP/2 client with prior knowledge (h2c) built on Python's h2, an HTTP/2 stack independent of Node's.

Opens one plain TCP connection, sends the HTTP/2 preface and N GET streams at once (paths given), and
prints one JSON object: per path, the status, the response headers, the body, and the error code of a
reset stream. `--big-header N` adds an N-byte header to the first request; `--extended-connect P` makes
the first request an extended CONNECT (RFC 8441) with `:protocol` P, whether or not the server offered it.
"""
import argparse
import json
import socket
import sys

import h2.config
import h2.connection
import h2.events


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--connect", required=True, help="host:port of the plain listener")
    ap.add_argument("--authority", required=True)
    ap.add_argument("--timeout", type=float, default=20.0)
    ap.add_argument("--big-header", type=int, default=0, help="bytes of an x-big header on the first request")
    ap.add_argument("--extended-connect", default="", help="the first request is CONNECT with this :protocol")
    ap.add_argument("paths", nargs="+")
    args = ap.parse_args()

    host, port = args.connect.rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=args.timeout)
    conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
    conn.initiate_connection()
    by_stream = {}
    for i, path in enumerate(args.paths):
        sid = conn.get_next_available_stream_id()
        headers = [(":method", "GET"), (":scheme", "http"), (":authority", args.authority), (":path", path)]
        if i == 0 and args.extended_connect:
            headers = [(":method", "CONNECT"), (":protocol", args.extended_connect), (":scheme", "http"), (":authority", args.authority), (":path", path)]
        if i == 0 and args.big_header:
            headers.append(("x-big", "a" * args.big_header))
        conn.send_headers(sid, headers, end_stream=True)
        by_stream[sid] = {"path": path, "status": None, "headers": {}, "body": b"", "reset": None}
    sock.sendall(conn.data_to_send())

    open_streams = set(by_stream)
    while open_streams:
        data = sock.recv(65536)
        if not data:
            break
        for event in conn.receive_data(data):
            if isinstance(event, h2.events.ResponseReceived):
                r = by_stream[event.stream_id]
                for k, v in event.headers:
                    if k == ":status":
                        r["status"] = int(v)
                    else:
                        r["headers"][k] = v
            elif isinstance(event, h2.events.DataReceived):
                by_stream[event.stream_id]["body"] += event.data
                conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, h2.events.StreamEnded):
                open_streams.discard(event.stream_id)
            elif isinstance(event, h2.events.StreamReset):
                by_stream[event.stream_id]["reset"] = int(event.error_code)
                open_streams.discard(event.stream_id)
            elif isinstance(event, h2.events.ConnectionTerminated):
                open_streams.clear()
        out = conn.data_to_send()
        if out:
            sock.sendall(out)
    conn.close_connection()
    sock.sendall(conn.data_to_send())
    sock.close()
    print(json.dumps([{**r, "body": r["body"].decode("utf-8", "replace")} for r in by_stream.values()]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
